"""Helper process for ``test_concurrency``: record booked pay-ins from a separate OS process.

Usage: ``python payin_worker.py DB_URL REFERENCE READY_FILE GO_FILE N [N ...]``

Opens its own store on ``DB_URL`` (the same SQLite file or PostgreSQL database as the test),
signals readiness by creating ``READY_FILE``, waits for ``GO_FILE`` so both processes start
crediting at the same moment, then records pay-in ``N`` as bank transaction ``PROC-N`` of
``N + 1`` euros for every ``N`` given. Prints one JSON line: how many pay-ins it created and
how many it found already recorded.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

# Run as a script, only this directory is on sys.path; the shared helpers live in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import send_payin
from zeropools.bootstrap import deployment
from zeropools.config import Settings

START_WAIT_S = 60.0


def bank_id(number: int) -> str:
    return f"PROC-{number}"


def amount(number: int) -> str:
    return f"{number + 1}.00"


def main(argv: list[str]) -> int:
    db_url, reference, ready, go, *numbers = argv
    dep = deployment(Settings(db_url=db_url))
    Path(ready).touch()
    deadline = time.monotonic() + START_WAIT_S
    while not Path(go).exists():
        if time.monotonic() > deadline:
            print("never told to go", file=sys.stderr)
            return 2
        time.sleep(0.002)
    created = known = 0
    for number in map(int, numbers):
        recorded = send_payin(dep, bank_id(number), amount(number), reference=reference)
        assert recorded.payin.status == "credited", recorded.payin
        created += recorded.created
        known += not recorded.created
    dep.store.close()
    print(json.dumps({"created": created, "known": known}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

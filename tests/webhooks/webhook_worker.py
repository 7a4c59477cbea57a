"""Helper process for ``test_webhook_workers``: a webhook worker that dies mid-delivery.

Usage: ``python webhook_worker.py DB_URL``

Opens its own store on ``DB_URL``, claims and sends the due deliveries (``deliver_once``), and
exits with ``DIED_AFTER_SEND`` the moment the first send has returned, before anything is
recorded: what a crash (a kill, a power cut) between sending and recording leaves behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Run as a script, only this directory is on sys.path; the shared helpers live in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.domain.deliveries import Claim
from zeropools.workers.webhook_sender import AttemptResult
from zeropools.workers.webhooks import deliver_once

DIED_AFTER_SEND = 17


def die(claim: Claim, result: AttemptResult) -> None:
    print(f"sent {claim.event.id} to {claim.endpoint.id}: {result.status_code}", flush=True)
    os._exit(DIED_AFTER_SEND)  # no cleanup, no commit: as abrupt as a kill


def main(argv: list[str]) -> int:
    (db_url,) = argv
    dep = deployment(Settings(db_url=db_url))
    deliver_once(dep, after_send=die)
    return 0  # nothing was due: the test fails on this exit code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

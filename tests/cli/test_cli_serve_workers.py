"""``zeropools serve --workers N``: several processes serve one database, configured by options.

Goal: with ``--workers 2`` the server runs two worker processes built by the import-string
factory (``zeropools.asgi:app``), each on the database named by ``--db`` (passed to them through
the environment); quotes and trades work across them; a key revoked through one worker is
refused by every worker once the cache TTL has passed; `--no-access-log` reaches the workers.

Method: the venv's ``zeropools`` in a subprocess on a free port and a fresh SQLite file, its
worker processes counted under ``/proc``; a new connection per request so the kernel spreads
them over the workers; polling is bounded by the TTL plus a margin, never a timing assertion.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
from cli_support import ZEROPOOLS, clean_env, free_port, run
from test_cli_serve import wait_until_healthy

from support import bearer, post_partner, post_payin, sqlite_url
from support.processes import random_operator_key
from zeropools.domain import limits

WORKERS = 2
REFUSED_IN_A_ROW = 20
SERVE_FLAGS = ("--workers", str(WORKERS), "--no-access-log")
# each worker imports the app afresh (spawned, not forked): slow on a busy machine
STARTUP_S = 90.0


def _workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_two_workers_serve_one_database_and_a_revocation_reaches_both(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path, "workers.db")
    assert run("init", "--db", db).returncode == 0
    operator_key = random_operator_key()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*(str(ZEROPOOLS), "serve", "--db", db, "--port", str(port)), *SERVE_FLAGS],
            stdout=sink,
            stderr=subprocess.STDOUT,
            # the workers must get the database from --db, not from an inherited variable
            # (and the failed-key limit would answer 429 to the refusals counted below)
            env=clean_env(
                ZEROPOOLS_OPERATOR_KEY=operator_key,
                ZEROPOOLS_DB="sqlite:///nowhere",
                ZEROPOOLS_RATE_LIMITS="off",
            ),
        )
    try:
        wait_until_healthy(base_url, process, log, STARTUP_S)
        deadline = time.monotonic() + STARTUP_S
        while len(_workers_of(process.pid)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_workers_of(process.pid)) == WORKERS, log.read_text()

        operator = bearer(operator_key)
        with httpx.Client(base_url=base_url, timeout=10.0) as http:
            partner = post_partner(http, operator)
            reference = partner["funding_instructions"][0]["reference"]
            funded = post_payin(http, operator, "w-1", "100.00", reference=reference)
            assert funded.status_code == 201, funded.text
        server = bearer(partner["api_keys"]["partner_server"])
        for i in range(6):  # a new connection each: spread over the workers
            quote = httpx.post(
                f"{base_url}/v1/quotes",
                json={"pool_id": "EUR-USDT", "source_amount": "10.00"},
                headers=server,
            )
            assert quote.status_code == 201, quote.text
            trade = httpx.post(
                f"{base_url}/v1/trades",
                json={"quote_id": quote.json()["id"], "partner_order_id": f"o-{i}"},
                headers={**server, "Idempotency-Key": f"k-{i}"},
            )
            assert trade.status_code == 201, trade.text
        balance = httpx.get(f"{base_url}/v1/balances/EUR", headers=server)
        assert balance.json()["available"] == "40.00"

        keys = httpx.get(f"{base_url}/v1/partners/{partner['id']}/api-keys", headers=operator)
        key_id = next(k["id"] for k in keys.json()["data"] if k["role"] == "partner_server")
        revoked = httpx.delete(f"{base_url}/v1/api-keys/{key_id}", headers=operator)
        assert revoked.status_code == 200, revoked.text

        in_a_row = 0
        deadline = time.monotonic() + limits.API_KEY_CACHE_TTL_S + 10
        while in_a_row < REFUSED_IN_A_ROW and time.monotonic() < deadline:
            status = httpx.get(f"{base_url}/v1/balances/EUR", headers=server).status_code
            in_a_row = in_a_row + 1 if status == 401 else 0
            assert status in (200, 401)
        assert in_a_row == REFUSED_IN_A_ROW
    finally:
        process.terminate()
        process.wait(timeout=20)

    served = log.read_text()
    assert '"logger": "zeropools.access"' not in served  # --no-access-log reaches the workers

"""``zeropools serve`` end to end: the acceptance scenario over real HTTP, then ``verify``.

Goal: a deployment created with ``zeropools init`` and served with ``zeropools serve`` (operator
key from ``ZEROPOOLS_OPERATOR_KEY``) onboards a partner, credits 1000.00 EUR by funding
reference, and lets the partner read its balance and ledger; afterwards ``zeropools verify``
passes, and after tampering with the SQLite file (trigger dropped, an amount altered) it exits 1
with MISMATCH lines naming the partner.

Method: the venv's ``zeropools`` executable in subprocesses on a free local port, polled on
``/healthz`` for a bounded time; httpx as the client; sqlite3 to tamper once the server is gone.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cli_support import ZEROPOOLS, clean_env, free_port, mismatch_lines, run

from support import bearer, post_partner, post_payin, sqlite_url
from support.processes import random_operator_key

STARTUP_S = 120.0  # a bound against a hang on a loaded machine, not a timing claim


def wait_until_healthy(
    base_url: str, server: subprocess.Popen[bytes], log: Path, startup_s: float = STARTUP_S
) -> None:
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"zeropools serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"zeropools serve not healthy within {startup_s} s:\n{log.read_text()}")


@dataclass
class Served:
    base_url: str
    operator_key: str
    db: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Terminate the server and wait for it (idempotent)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A running ``zeropools serve`` on a fresh SQLite file; stopped afterwards."""
    db = sqlite_url(tmp_path, "served.db")
    init = run("init", "--db", db)
    assert init.returncode == 0, init.stderr
    operator_key = random_operator_key()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(ZEROPOOLS), "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=clean_env(ZEROPOOLS_OPERATOR_KEY=operator_key),
        )
    server = Served(f"http://127.0.0.1:{port}", operator_key, db, process)
    try:
        wait_until_healthy(server.base_url, process, log)
        yield server
    finally:
        server.stop()


def test_serve_runs_the_acceptance_scenario_and_verify_then_catches_tampering(
    served: Served,
) -> None:
    base_url, operator_key, db = served.base_url, served.operator_key, served.db
    operator = bearer(operator_key)

    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        partner = post_partner(http, operator, "Acme Wallet", "debit", ["EUR"])  # checks the 201
        reference = partner["funding_instructions"][0]["reference"]
        server_key = bearer(partner["api_keys"]["partner_server"])

        credited = post_payin(
            http, operator, "serve-0001", "1000.00", booking_status="booked", reference=reference
        )
        assert credited.status_code == 201, credited.text
        assert credited.json()["status"] == "credited"

        balance = http.get("/v1/balances/EUR", headers=server_key)
        assert balance.status_code == 200, balance.text
        assert balance.json()["available"] == "1000.00"
        ledger = http.get("/v1/ledger-entries", headers=server_key)
        assert ledger.status_code == 200, ledger.text
        [entry] = ledger.json()["data"]
        assert entry["type"] == "payin_credit" and entry["sequence"] == 1
        assert len(entry["hash"]) == 64
        assert entry["request_id"] == credited.headers["x-request-id"]

        unauthenticated = http.get("/v1/balances/EUR")
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"].startswith("application/problem+json")

    # stop the server before touching its database file
    served.stop()
    assert served.process.returncode is not None

    healthy = run("verify", "--db", db)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "verify ok" in healthy.stdout

    path = db.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    try:
        conn.execute("DROP TRIGGER ledger_entries_no_update")
        conn.execute("UPDATE ledger_entries SET amount_minor = 1")
        conn.commit()
    finally:
        conn.close()

    tampered = run("verify", "--db", db)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    lines = mismatch_lines(tampered.stdout)
    assert lines, tampered.stdout
    assert all(partner["id"] in line for line in lines), lines
    assert "verify ok" not in tampered.stdout

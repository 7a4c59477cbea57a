"""``zeropools demo``: a fresh start on request, and a venue simulator that leaves others alone.

Goal: ``demo --fresh`` starts from a new database (a new demo partner), a plain ``demo`` keeps
the old one; the venue simulator decides only the demo partner's open trades unless told
``--venue all``, so a person can settle, fail and return their own trades by hand.
Method: the installed command on a free local port in a subprocess, polled on ``/healthz`` and
terminated; the simulator's ``tick`` at the service layer on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx
from cli_support import ZEROPOOLS, clean_env, free_port

from support import ctx_for, onboard, reference_of, send_payin
from zeropools.domain import trades
from zeropools.services import trading
from zeropools.services.context import Deployment
from zeropools.workers import venue

STARTUP_S = 120.0  # a bound against a hang on a loaded machine, not a timing claim


def _demo_partner(db: Path, *flags: str) -> str:
    """Run ``zeropools demo`` until it serves; the demo partner id it printed."""
    port = free_port()
    log = db.parent / f"demo-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(ZEROPOOLS), "demo", "--db", f"sqlite:///{db}", "--port", str(port), *flags],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=clean_env(),
        )
    try:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"demo not serving within {STARTUP_S} s: {log.read_text()}")
    finally:
        process.terminate()
        process.wait(timeout=10)
    found = re.search(r"partner\s+(partner_\w+)", log.read_text())
    assert found, log.read_text()
    return found.group(1)


def test_demo_fresh_starts_from_a_new_database_and_plain_demo_keeps_it(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"

    first = _demo_partner(db)
    kept = _demo_partner(db)
    fresh = _demo_partner(db, "--fresh")

    assert kept == first
    assert fresh != first


def _funded(dep: Deployment, name: str) -> str:
    new = onboard(dep, name=name)
    send_payin(dep, f"bank-{name}", "1000.00", reference=reference_of(new))
    return new.partner.id


def _open_trade(dep: Deployment, partner_id: str, order_id: str) -> str:
    server = ctx_for("partner_server", partner_id)
    offer = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="100.00", partner_order_id=None
    )
    view = trading.execute_trade(dep, server, quote_id=offer.quote.id, partner_order_id=order_id)
    return view.trade.id


def test_the_venue_simulator_decides_only_the_named_partners_trades(dep: Deployment) -> None:
    demo, other = _funded(dep, "Demo"), _funded(dep, "Other")
    demo_trade = _open_trade(dep, demo, "d-1")
    other_trade = _open_trade(dep, other, "o-1")

    decided = venue.tick(dep, delay_s=0, partner_id=demo)

    assert decided == 1
    demo_status = trading.get_trade(dep, ctx_for(), demo_trade).trade.status
    other_status = trading.get_trade(dep, ctx_for(), other_trade).trade.status
    assert demo_status in (trades.SETTLED, trades.FAILED)
    assert other_status == trades.DEBITED
    assert venue.tick(dep, delay_s=0) == 1  # everyone's: the other partner's trade now

"""``zeropools reconcile FILE --partner P`` as finance runs it.

Goal: the command matches a partner's order file against a SQLite ledger, prints a summary
table (rows read, matched by id, by amount and time, mismatched, missing on each side, bad rows,
acknowledged) and the rows that need a look, writes every result and the summary as JSON lines
with ``--out``, and exits 0 when everything matched, 1 when something did not, 2 when the file
cannot be matched at all.
Method: the venv's real ``zeropools`` executable in a subprocess, against a SQLite database
seeded through the services on a fixed clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from cli_support import run

from support import ctx_for, onboard, opened_store, reference_of, send_payin
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.services import trading
from zeropools.services.context import Deployment


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=UTC)


def execute(dep: Deployment, partner_id: str, amount: str, order: str, when: datetime) -> str:
    server = ctx_for("partner_server", partner_id, when)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount=amount, partner_order_id=order
    )
    again = ctx_for("partner_server", partner_id, when)
    view = trading.execute_trade(dep, again, quote_id=quote.quote.id, partner_order_id=order)
    return view.trade.id


def seeded(tmp_path: Path) -> tuple[str, str, dict[str, str]]:
    """A settled and a failed trade on 2026-11-23, on a SQLite file; (url, partner, ids)."""
    db = f"sqlite:///{tmp_path / 'zeropools.db'}"
    with opened_store(db) as store:
        dep = deployment(Settings(db_url=db), store)
        new = onboard(dep)
        partner_id = new.partner.id
        send_payin(dep, "b-1", "1000.00", reference=reference_of(new), ctx=ctx_for(now=at(9)))
        settled = execute(dep, partner_id, "100.00", "o-1", at(9, 15))
        trading.move_trade(dep, ctx_for(now=at(9, 20)), settled, "settled")
        failed = execute(dep, partner_id, "50.00", "o-2", at(10))
        trading.move_trade(dep, ctx_for(now=at(10, 5)), failed, "failed", reason="venue")
        return db, partner_id, {"settled": settled, "failed": failed}


def test_reconcile_prints_a_summary_writes_json_lines_and_exits_by_what_it_found(
    tmp_path: Path,
) -> None:
    db, partner_id, ids = seeded(tmp_path)
    books = tmp_path / "orders.csv"
    books.write_text(
        "partner_order_id,amount,currency,created_at,trade_id,status\n"
        f"o-1,100.00,EUR,2026-11-23T09:15:02Z,{ids['settled']},settled\n"
        "theirs-2,50.00,EUR,2026-11-23T10:00:30Z,,failed\n"
    )
    out = tmp_path / "results.jsonl"

    clean = run("reconcile", str(books), "--partner", partner_id, "--db", db, "--out", str(out))

    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "matched by id" in clean.stdout and "acknowledged by this match" in clean.stdout
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["object"] for line in lines] == [
        "reconciliation_match_result",
        "reconciliation_match_result",
        "reconciliation_match",
    ]
    assert [line["tier"] for line in lines[:2]] == ["id", "amount_time"]
    assert lines[-1]["acknowledged"] == 1 and lines[-1]["partner_id"] == partner_id

    books.write_text(
        "partner_order_id,amount,currency,created_at,trade_id,status\n"
        f"o-1,120.00,EUR,2026-11-23T09:15:02Z,{ids['settled']},settled\n"
        "bad,one hundred,EUR,2026-11-23T09:15:02Z,,\n"
    )
    differing = run("reconcile", str(books), "--partner", partner_id, "--db", db)

    assert differing.returncode == 1, differing.stdout + differing.stderr
    assert "needs a look" in differing.stdout
    assert "amount: file 120.00 / ledger 100.00" in differing.stdout
    assert "missing_in_file" in differing.stdout and "bad row" in differing.stdout

    books.write_text("order;amount\n1;2\n")
    unreadable = run("reconcile", str(books), "--partner", partner_id, "--db", db)
    assert unreadable.returncode == 2 and "lacks" in unreadable.stderr
    missing = run("reconcile", str(tmp_path / "nope.csv"), "--partner", partner_id, "--db", db)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    unknown = run("reconcile", str(books), "--partner", "partner_nobody", "--db", db)
    assert unknown.returncode == 2

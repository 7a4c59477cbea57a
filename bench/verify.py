"""``zeropools verify`` over a million entries: entries per second (issue 13, target 200,000/s).

Method: a fresh database (SQLite, then PostgreSQL) with P partners sharing N entries, pay-in
credits and buy debits in turn, made by the domain itself: ``ledger.append`` chains and hashes
them (10,000 drafts at a time, head and balances carried over), and the rows go in by bulk
insert (``executemany`` on SQLite, ``COPY`` on PostgreSQL), heads and stored balances set to
what the entries leave. The credits and debits name pay-ins and trades that have no row, which
verify does not report (services/verify.py). Each entry also gets an event, as the services
write one per posting (a body of a real one's size, about 700 bytes, with the ``ledger_head`` as of
that entry), whose head verify holds against the chain: reading those is part of a real
ledger's verify (``--no-events`` leaves them out, as this bench did before 2026-12-02).
Then (``--executions N``, 20,000 by default) a ledger made by the services themselves: N trades
executed as ``POST /v1/trades`` runs them, so verify also checks every trade row against its
entries, as it does on a real partner's ledger.

Measured: ROUNDS runs of the service ``verify(store)`` in this process (entries/s of each,
median printed, with the process CPU time of the median run), then ``zeropools verify`` in a
fresh process under ``/usr/bin/time`` (wall, CPU, peak RSS; includes start-up), once with one
process and once with ``--jobs 2`` (partners checked by two worker processes). Every run
must report ok: a verify that found problems would be timing its slow path. Figures only;
nothing asserts on time.

Usage: .venv/bin/python bench/verify.py [--n 1000000] [--partners 4] [--rounds 3]
       [--pg URL] [--skip-pg] [--no-events] [--executions 20000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from common import PG_ADMIN, database, funded_partner, measured
from hot_partner import service_async_rate

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import events, ids, ledger
from zeropools.domain.events import EventDraft
from zeropools.domain.ledger import (
    AVAILABLE,
    BUY_DEBIT,
    GENESIS_HASH,
    PLATFORM_VENUE,
    Balance,
    EntryDraft,
    LedgerEntry,
    LedgerHead,
    Line,
    Links,
    canonical_json,
)
from zeropools.domain.money import Currencies
from zeropools.services import partners
from zeropools.services.context import Actor, Ctx
from zeropools.services.verify import verify
from zeropools.store.open import open_store
from zeropools.store.sql.events import EVENT_COLUMNS
from zeropools.store.sql.ledger import ENTRY_COLUMNS, entry_params

CHUNK = 10_000
EXECUTIONS_AT_ONCE = 2_000  # quotes prepared, then executed, per round of the services
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def drafts(tag: str, start: int, count: int) -> list[EntryDraft]:
    """Credits of 10.00 and debits of 3.00 in turn: the balance only grows."""
    out = []
    for i in range(start, start + count):
        if i % 2 == 0:
            out.append(ledger.payin_credit("EUR", 1_000, f"pin_{tag}_{i}", "RF18BENCH"))
        else:
            out.append(
                EntryDraft(
                    BUY_DEBIT,
                    "EUR",
                    (Line(AVAILABLE, -300), Line(PLATFORM_VENUE, 300)),
                    Links(trade_id=f"pt_{tag}_{i}", quote_id=f"pq_{tag}_{i}"),
                )
            )
    return out


def event_rows(partner_id: str, entries: Sequence[LedgerEntry]) -> list[tuple[object, ...]]:
    """One event per entry, as the services write them: the stream's sequence, a body of the
    size a real one has (the trade or pay-in object, about 700 bytes in all) and the ledger head as
    of the entry (``ledger_head``), which verify holds against the chain."""
    rows = []
    for entry in entries:
        debit = entry.type == BUY_DEBIT
        subject = entry.links.trade_id if debit else entry.links.payin_id
        draft = EventDraft(
            partner_id,
            events.TRADE_DEBITED if debit else events.PAYIN_CREDITED,
            {
                "id": subject,
                "object": "trade" if debit else "payin",
                "partner_id": partner_id,
                "status": "debited" if debit else "credited",
                "currency": "EUR",
                "amount": f"{abs(entry.amount_minor) / 100:.2f}",
                "quote_id": entry.links.quote_id,
                "partner_order_id": entry.links.quote_id,
                "funding_reference": entry.links.funding_reference,
                "pair": "EUR/USDT",
                "crypto_amount": "3.264800",
                "rate": "1.0882666",
                "fee": "0.015",
                "entry_ids": [entry.id],
                "created_at": entry.created_at,
                "updated_at": entry.created_at,
            },
        )
        event_id = ids.new_id(ids.EVENT)
        body = events.event_body(
            event_id=event_id,
            draft=draft,
            sequence=entry.sequence,
            created_at=entry.created_at,
            request_id="req_bench",
            ledger_head=LedgerHead(partner_id, entry.sequence, entry.hash),
        )
        rows.append(
            (
                partner_id,
                entry.sequence,
                event_id,
                draft.type,
                "req_bench",
                entry.created_at,
                canonical_json(body),
                subject,
            )
        )
    return rows


def seed(url: str, n: int, partner_count: int, with_events: bool) -> None:
    store = open_store(url)
    initialize(store, "test")
    dep = deployment(Settings(db_url=url), store)
    ctx = Ctx(ids.new_id(ids.REQUEST), NOW, Actor("bench", "operator", None))
    ids_ = [
        partners.create_partner(
            dep, ctx, name=f"Bench {p}", balance_model="debit", currencies=["EUR"]
        ).partner.id
        for p in range(partner_count)
    ]
    dep.store.close()
    sqlite = url.startswith("sqlite")
    conn: sqlite3.Connection | psycopg.Connection[tuple[object, ...]]
    conn = sqlite3.connect(url.removeprefix("sqlite:///")) if sqlite else psycopg.connect(url)
    per_partner = [n // partner_count + (p < n % partner_count) for p in range(partner_count)]
    for partner_id, count in zip(ids_, per_partner, strict=True):
        head, balances = LedgerHead(partner_id, 0, GENESIS_HASH), dict[str, Balance]()
        for start in range(0, count, CHUNK):
            posting = ledger.append(
                head,
                balances,
                drafts(partner_id[-8:], start, min(CHUNK, count - start)),
                currencies=Currencies(),
                request_id="req_bench",
                now=NOW,
            )
            tables = [("ledger_entries", ENTRY_COLUMNS, [entry_params(e) for e in posting.entries])]
            if with_events:
                tables.append(("events", EVENT_COLUMNS, event_rows(partner_id, posting.entries)))
            for table, columns, rows in tables:
                if isinstance(conn, sqlite3.Connection):
                    marks = ", ".join("?" * len(rows[0]))
                    conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
                else:
                    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
                        for row in rows:
                            cp.write_row(row)
            head, balances = posting.head, dict(posting.balances)
        mark = "?" if sqlite else "%s"
        conn.execute(
            f"UPDATE partners SET ledger_sequence = {mark}, ledger_hash = {mark} WHERE id = {mark}",
            (head.sequence, head.hash, partner_id),
        )
        if with_events:
            conn.execute(
                f"INSERT INTO event_streams (stream, last_sequence) VALUES ({mark}, {mark})",
                (partner_id, head.sequence),
            )
        conn.execute(
            f"UPDATE partner_currencies SET available_minor = {mark} "
            f"WHERE partner_id = {mark} AND currency = 'EUR'",
            (balances["EUR"].available_minor, partner_id),
        )
    conn.commit()
    conn.close()


def run(label: str, url: str, n: int, partner_count: int, rounds: int, with_events: bool) -> None:
    started = time.perf_counter()
    seed(url, n, partner_count, with_events)
    setup_s = time.perf_counter() - started
    published = f", {n} events publishing heads" if with_events else ", no events"
    print(f"{label}: {n} entries over {partner_count} partners{published} (set-up {setup_s:.0f} s)")
    measure(url, rounds, entries=n, trades=0, heads=n if with_events else 0)


def seed_executions(url: str, n: int) -> None:
    """A ledger as the services write it: a partner funded by one pay-in, then ``n`` trades
    executed through the service layer as ``POST /v1/trades`` runs them (quote, trade row,
    hash-chained entry, outbox event with its head, stored answer; bench/hot_partner.py)."""
    store = open_store(url)
    initialize(store, "test")
    dep = deployment(Settings(db_url=url), store)
    partner_id = funded_partner(dep, "Executions", "100000000.00").partner.id
    for start in range(0, n, EXECUTIONS_AT_ONCE):
        service_async_rate(dep, partner_id, min(EXECUTIONS_AT_ONCE, n - start), 64)
    dep.store.close()


def run_executions(label: str, url: str, n: int, rounds: int) -> None:
    started = time.perf_counter()
    seed_executions(url, n)
    setup_s = time.perf_counter() - started
    print(f"{label}: {n} trades executed through the services (set-up {setup_s:.0f} s)")
    # the pay-in's credit and the trades' debits; an event for each
    measure(url, rounds, entries=n + 1, trades=n, heads=None)


def measure(url: str, rounds: int, *, entries: int, trades: int, heads: int | None) -> None:
    """Verify ``rounds`` times in this process, then once per ``--jobs`` as a fresh CLI."""
    dep = deployment(Settings(db_url=url))
    runs = []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        report = verify(dep.store)
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
        assert report.ok and report.entries == entries, (report.entries, report.problems[:3])
        assert report.trades == trades and heads in (None, report.heads), report
    dep.store.close()
    wall, cpu = sorted(runs)[len(runs) // 2]
    rates = [entries / w for w, _ in runs]
    print(
        f"  verify (service, median of {rounds}): {statistics.median(rates):,.0f} entries/s "
        f"({wall:.2f} s wall, {cpu:.2f} s CPU = {entries / cpu:,.0f} entries per CPU second)"
    )
    cli = str(Path(sys.executable).with_name("zeropools"))
    for jobs in (1, 2):
        once = measured([cli, "verify", "--db", url, "--jobs", str(jobs)])
        print(
            f"  zeropools verify --jobs {jobs} (CLI, fresh process): "
            f"{entries / once.wall_s:,.0f} entries/s; {once.text()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=PG_ADMIN)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--no-events", action="store_true", help="entries only, no events")
    parser.add_argument(
        "--executions",
        type=int,
        default=20_000,
        help="also a ledger of this many trades executed through the services (0: none)",
    )
    args = parser.parse_args()
    for label in ("sqlite",) if args.skip_pg else ("sqlite", "postgres"):
        with database(label, args.pg) as url:
            run(label, url, args.n, args.partners, args.rounds, not args.no_events)
        if args.executions:
            with database(label, args.pg) as url:
                run_executions(label, url, args.executions, args.rounds)


if __name__ == "__main__":
    main()

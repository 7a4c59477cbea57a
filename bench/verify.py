"""``zeropools verify`` over a million entries: entries per second (issue 13, target 200,000/s).

Method: a fresh database (SQLite, then PostgreSQL) with P partners sharing N entries, pay-in
credits and buy debits in turn, made by the domain itself: ``ledger.append`` chains and hashes
them (10,000 drafts at a time, head and balances carried over), and the rows go in by bulk
insert (``executemany`` on SQLite, ``COPY`` on PostgreSQL), heads and stored balances set to
what the entries leave. The credits and debits name pay-ins and trades that have no row, which
verify does not report (services/verify.py), so the replay is the whole of the work.

Measured: ROUNDS runs of the service ``verify(store)`` in this process (entries/s of each,
median printed, with the process CPU time of the median run), then ``zeropools verify`` in a
fresh process under ``/usr/bin/time`` (wall, CPU, peak RSS; includes start-up), once with one
process and once with ``--jobs 2`` (partners checked by two worker processes). Every run
must report ok: a verify that found problems would be timing its slow path. Figures only;
nothing asserts on time.

Usage: .venv/bin/python bench/verify.py [--n 1000000] [--partners 4] [--rounds 3]
       [--pg URL] [--skip-pg]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from common import PG_ADMIN, database, measured

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids, ledger
from zeropools.domain.ledger import (
    AVAILABLE,
    BUY_DEBIT,
    GENESIS_HASH,
    PLATFORM_VENUE,
    Balance,
    EntryDraft,
    LedgerHead,
    Line,
    Links,
)
from zeropools.domain.money import Currencies
from zeropools.services import partners
from zeropools.services.context import Actor, Ctx
from zeropools.services.verify import verify
from zeropools.store.open import open_store
from zeropools.store.sql.ledger import ENTRY_COLUMNS, entry_params

CHUNK = 10_000
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


def seed(url: str, n: int, partner_count: int) -> None:
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
    insert = f"INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * 21)})"
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
            rows = [entry_params(entry) for entry in posting.entries]
            if isinstance(conn, sqlite3.Connection):
                conn.executemany(insert, rows)
            else:
                with conn.cursor().copy(f"COPY ledger_entries ({ENTRY_COLUMNS}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            head, balances = posting.head, dict(posting.balances)
        mark = "?" if sqlite else "%s"
        conn.execute(
            f"UPDATE partners SET ledger_sequence = {mark}, ledger_hash = {mark} WHERE id = {mark}",
            (head.sequence, head.hash, partner_id),
        )
        conn.execute(
            f"UPDATE partner_currencies SET available_minor = {mark} "
            f"WHERE partner_id = {mark} AND currency = 'EUR'",
            (balances["EUR"].available_minor, partner_id),
        )
    conn.commit()
    conn.close()


def run(label: str, url: str, n: int, partner_count: int, rounds: int) -> None:
    started = time.perf_counter()
    seed(url, n, partner_count)
    setup_s = time.perf_counter() - started
    print(f"{label}: {n} entries over {partner_count} partners (set-up {setup_s:.0f} s)")
    dep = deployment(Settings(db_url=url))
    runs = []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        report = verify(dep.store)
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
        assert report.ok and report.entries == n, (report.entries, report.problems[:3])
    dep.store.close()
    wall, cpu = sorted(runs)[len(runs) // 2]
    rates = [n / w for w, _ in runs]
    print(
        f"  verify (service, median of {rounds}): {statistics.median(rates):,.0f} entries/s "
        f"({wall:.2f} s wall, {cpu:.2f} s CPU = {n / cpu:,.0f} entries per CPU second)"
    )
    cli = str(Path(sys.executable).with_name("zeropools"))
    for jobs in (1, 2):
        once = measured([cli, "verify", "--db", url, "--jobs", str(jobs)])
        print(
            f"  zeropools verify --jobs {jobs} (CLI, fresh process): "
            f"{n / once.wall_s:,.0f} entries/s; {once.text()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=PG_ADMIN)
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    for label in ("sqlite",) if args.skip_pg else ("sqlite", "postgres"):
        with database(label, args.pg) as url:
            run(label, url, args.n, args.partners, args.rounds)


if __name__ == "__main__":
    main()

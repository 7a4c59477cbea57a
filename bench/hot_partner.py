"""One hot partner, through the service layer, durable: executions per second vs a bare floor.

Method, on SQLite and on a throwaway PostgreSQL database, ROUNDS rounds each (medians):

- **service layer**: N executions of prepared quotes for one funded partner, exactly as
  ``POST /v1/trades`` runs them after authentication (``dispatch.apply_idempotent_async``:
  idempotency key claimed, quote checked under the ledger lock, trade and hash-chained entry
  written, balance moved, outbox event, stored answer), CONCURRENCY coroutines in flight on
  one event loop, through the deployment's group-commit writer (as ``zeropools serve``);
  also from THREADS threads calling the blocking ``apply_idempotent`` (leader/follower path).
- **baseline**: one durable transaction per execution that does only the conditional balance
  UPDATE (``available_minor >= amount``) and one entry-sized INSERT, on raw connections with
  the store's settings (SQLite WAL + ``synchronous=FULL``; PostgreSQL's default durable
  commit). It runs both from one thread and from THREADS threads; the better of the two is
  the baseline (the floor a plain transaction-per-request design could reach on this row).

Quotes are prepared before the clock starts; a round runs at one clock reading (the quotes'
30 s validity must not depend on how busy the machine is). Prints figures only; nothing
asserts on time.

Usage: .venv/bin/python bench/hot_partner.py [--n 2000] [--rounds 3] [--concurrency 64]
       [--threads 8] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from common import bench_ctx, funded_partner
from ledger import on_both_stores

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.services import dispatch, idempotency, trading
from zeropools.services.commands import ExecuteTrade
from zeropools.services.context import Deployment
from zeropools.store.open import open_store
from zeropools.store.sqlite import path_from_url

AMOUNT = "10.00"
AMOUNT_MINOR = 1000
FUNDS = "100000000.00"


ctx = bench_ctx
# this process's CPU (all its threads; not the database server's) per execution on the API
# path, one figure per round: steadier than the rate on a machine shared with other work
ASYNC_CPU_MS: list[float] = []


async def _gathered(n: int, concurrency: int, one: Callable[[int], Any]) -> None:
    """``one(i)`` for i < n with at most ``concurrency`` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def bounded(i: int) -> None:
        async with gate:
            await one(i)

    await asyncio.gather(*(bounded(i) for i in range(n)))


def prepared_quotes(
    dep: Deployment, partner_id: str, n: int, concurrency: int, now: datetime
) -> list[str]:
    quotes: list[str] = []

    async def one(i: int) -> None:
        view = await trading.create_quote_async(
            dep, ctx("partner_server", partner_id, now), pool_id="EUR-USDT",
            source_amount=AMOUNT, partner_order_id=None,
        )  # fmt: skip
        quotes.append(view.quote.id)

    asyncio.run(_gathered(n, concurrency, one))
    return quotes


def _execute(quote_id: str) -> tuple[ExecuteTrade, str, str]:
    body = {"quote_id": quote_id, "partner_order_id": quote_id}
    return (
        ExecuteTrade(quote_id, quote_id, None),
        f"k-{quote_id}",
        idempotency.fingerprint("POST", "/v1/trades", body),
    )


def service_async_rate(dep: Deployment, partner_id: str, n: int, concurrency: int) -> float:
    now = datetime.now(UTC)
    quotes = prepared_quotes(dep, partner_id, n, concurrency, now)

    async def one(i: int) -> None:
        command, key, print_ = _execute(quotes[i])
        stored = await dispatch.apply_idempotent_async(
            dep, ctx("partner_server", partner_id, now), command, key=key, request_print=print_
        )
        assert stored.status == 201, stored.body

    began, cpu_began = time.perf_counter(), time.process_time()
    asyncio.run(_gathered(n, concurrency, one))
    rate = n / (time.perf_counter() - began)
    ASYNC_CPU_MS.append(1000 * (time.process_time() - cpu_began) / n)
    return rate


def service_threads_rate(dep: Deployment, partner_id: str, n: int, threads: int) -> float:
    now = datetime.now(UTC)
    quotes = prepared_quotes(dep, partner_id, n, 64, now)
    start_line = threading.Barrier(threads + 1)

    def worker(mine: list[str]) -> None:
        start_line.wait()
        for quote_id in mine:
            command, key, print_ = _execute(quote_id)
            stored = dispatch.apply_idempotent(
                dep, ctx("partner_server", partner_id, now), command, key=key, request_print=print_
            )
            assert stored.status == 201, stored.body

    pool = [threading.Thread(target=worker, args=(quotes[i::threads],)) for i in range(threads)]
    for thread in pool:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    return n / (time.perf_counter() - began)


# -- the baseline: the conditional UPDATE and one entry-sized INSERT per durable transaction ----

_BASELINE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_entries (id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, "
    "sequence BIGINT NOT NULL, type TEXT NOT NULL, amount_minor BIGINT NOT NULL, "
    "currency TEXT NOT NULL, trade_id TEXT, quote_id TEXT, created_at TEXT NOT NULL, "
    "hash TEXT NOT NULL)"
)
_UPDATE = (
    "UPDATE partner_currencies SET available_minor = available_minor - {m} "
    "WHERE partner_id = {m} AND currency = 'EUR' AND available_minor >= {m}"
)
_INSERT = (
    "INSERT INTO bench_entries (id, partner_id, sequence, type, amount_minor, currency, "
    "trade_id, quote_id, created_at, hash) VALUES ({m}, {m}, {m}, 'buy_debit', {m}, 'EUR', "
    "{m}, {m}, {m}, {m})"
)


def _params(partner_id: str, i: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    entry = (
        ids.new_id("le_"), partner_id, i, -AMOUNT_MINOR, ids.new_id("pt_"), ids.new_id("pq_"),
        datetime.now(UTC).isoformat(), uuid.uuid4().hex * 2,
    )  # fmt: skip
    return (AMOUNT_MINOR, partner_id, AMOUNT_MINOR), entry


class _Sqlite:
    def __init__(self, url: str) -> None:
        self.path = path_from_url(url)

    def connect(self) -> Any:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def once(self, conn: Any, partner_id: str, i: int) -> None:
        update, entry = _params(partner_id, i)
        conn.execute("BEGIN IMMEDIATE")
        assert conn.execute(_UPDATE.format(m="?"), update).rowcount == 1
        conn.execute(_INSERT.format(m="?"), entry)
        conn.execute("COMMIT")


class _Postgres:
    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self) -> Any:
        return psycopg.connect(self.url)

    def once(self, conn: Any, partner_id: str, i: int) -> None:
        update, entry = _params(partner_id, i)
        with conn.transaction():
            assert conn.execute(_UPDATE.format(m="%s"), update).rowcount == 1
            conn.execute(_INSERT.format(m="%s"), entry)


def baseline_rate(url: str, partner_id: str, n: int, threads: int) -> float:
    raw: _Sqlite | _Postgres = _Sqlite(url) if url.startswith("sqlite") else _Postgres(url)
    setup = raw.connect()
    setup.execute(_BASELINE_DDL)
    if isinstance(raw, _Postgres):
        setup.commit()
    setup.close()
    counter = iter(range(10**12))
    start_line = threading.Barrier(threads + 1)

    def worker(count: int) -> None:
        conn = raw.connect()
        try:
            start_line.wait()
            for _ in range(count):
                raw.once(conn, partner_id, next(counter))
        finally:
            conn.close()

    pool = [threading.Thread(target=worker, args=(n // threads,)) for _ in range(threads)]
    for thread in pool:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    return (n // threads) * threads / (time.perf_counter() - began)


def run(label: str, url: str, args: argparse.Namespace) -> None:
    store = open_store(url)
    initialize(store, "test")
    dep = deployment(Settings(db_url=url), store)  # group commit, as `zeropools serve` wires it
    partner_id = funded_partner(dep, "hot", FUNDS).partner.id
    floor_one, floor_many, coroutines, threads = [], [], [], []
    ASYNC_CPU_MS.clear()
    for _ in range(args.rounds):
        floor_one.append(baseline_rate(url, partner_id, args.n // 2, 1))
        floor_many.append(baseline_rate(url, partner_id, args.n // 2, args.threads))
        coroutines.append(service_async_rate(dep, partner_id, args.n, args.concurrency))
        threads.append(service_threads_rate(dep, partner_id, args.n // 2, args.threads))
    dep.store.close()
    one, many = statistics.median(floor_one), statistics.median(floor_many)
    floor = max(one, many)
    served, threaded = statistics.median(coroutines), statistics.median(threads)
    print(f"{label:8} baseline, 1 thread                 {one:8.0f} executions/s")
    print(f"{label:8} baseline, {args.threads} threads                {many:8.0f} executions/s")
    print(
        f"{label:8} service, {args.concurrency} coroutines (API path)  {served:8.0f} executions/s"
        f"  ({served / floor:.2f} x baseline; "
        f"{statistics.median(ASYNC_CPU_MS):.2f} ms CPU/execution in this process)"
    )
    print(
        f"{label:8} service, {args.threads} threads (blocking)     {threaded:8.0f} executions/s"
        f"  ({threaded / floor:.2f} x baseline)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000, help="executions per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(
        f"one hot partner, durable; median of {args.rounds} rounds "
        f"({datetime.now(UTC):%Y-%m-%d}); baseline = the better of its two rows"
    )
    on_both_stores(lambda label, url: run(label, url, args), args.pg)


if __name__ == "__main__":
    main()

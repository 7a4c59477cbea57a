"""Group commit: executions per second for one hot partner, with and without group commit.

Method: THREADS threads each execute N trades (idempotency key, quote, debit: the path of
``POST /v1/trades``) for the same partner, on SQLite and PostgreSQL. The baseline, measured in
the same run on the same database, sends each command through its own ``store.write`` (one
transaction per request); the other run sends them on the partner's lane of the
``GroupCommitStore`` (commands that arrive together share a commit). Median of ROUNDS
rounds. Prints figures only.

Usage: .venv/bin/python bench/group_commit.py [--threads 8] [--n 50] [--rounds 3] [--pg URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.services import idempotency, partners, payins, trading
from zeropools.services.commands import ExecuteTrade
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.store.open import open_store
from zeropools.store.protocol import Tx


def ctx(role: str, partner_id: str | None = None) -> Ctx:
    return Ctx(ids.new_id(ids.REQUEST), datetime.now(UTC), Actor("bench", role, partner_id))


def funded_partner(dep: Deployment) -> str:
    created = partners.create_partner(
        dep, ctx("operator"), name="hot", balance_model="debit", currencies=["EUR"]
    )
    note = payins.notification(
        dep,
        bank_transaction_id=f"fund-{uuid.uuid4()}",
        amount="100000000.00",
        currency="EUR",
        booking_status="booked",
        reference=created.partner.currencies[0].funding_reference,
    )
    payins.record_payin(dep, ctx("operator"), note)
    return created.partner.id


def command(dep: Deployment, partner_id: str, quote_id: str) -> tuple[Ctx, Callable[[Tx], object]]:
    c = ctx("partner_server", partner_id)

    def run(tx: Tx) -> object:
        return idempotency.run_in(
            tx,
            c,
            scope=partner_id,
            key=f"k-{quote_id}",
            request_print=idempotency.fingerprint("POST", "/v1/trades", {"quote_id": quote_id}),
            work=lambda t: trading.execute_in(dep, c, t, ExecuteTrade(quote_id, quote_id)),
            render=lambda view: (201, b"{}"),
            render_error=lambda exc: (409, exc.code.encode()),
        )

    return c, run


def round_rate(dep: Deployment, threads: int, n: int, batched: bool) -> float:
    partner_id = funded_partner(dep)
    server = ctx("partner_server", partner_id)
    quotes = [
        trading.create_quote(
            dep, server, pool_id="EUR-USDT", source_amount="10.00", partner_order_id=None
        ).quote.id
        for _ in range(threads * n)
    ]
    start_line = threading.Barrier(threads + 1)

    def worker(mine: list[str]) -> None:
        start_line.wait()
        for quote_id in mine:
            _, run = command(dep, partner_id, quote_id)
            # no lane: a transaction of its own; the partner's lane: group-committed
            dep.store.write(run, partner_id if batched else None)

    pool = [
        threading.Thread(target=worker, args=(quotes[i * n : (i + 1) * n],)) for i in range(threads)
    ]
    for thread in pool:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    return threads * n / (time.perf_counter() - began)


def run(label: str, url: str, threads: int, n: int, rounds: int) -> None:
    store = open_store(url)
    initialize(store, "test")
    dep = deployment(Settings(db_url=url), store)
    plain = statistics.median(round_rate(dep, threads, n, False) for _ in range(rounds))
    grouped = statistics.median(round_rate(dep, threads, n, True) for _ in range(rounds))
    store.close()
    print(f"{label:8} one transaction per request {plain:8.0f} executions/s")
    print(
        f"{label:8} group commit (lane)          {grouped:8.0f} executions/s  "
        f"({grouped / plain:.2f} x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"{args.threads} threads x {args.n} executions, one partner, median of {args.rounds}")
    with tempfile.TemporaryDirectory() as folder:
        run("sqlite", f"sqlite:///{folder}/bench.db", args.threads, args.n, args.rounds)
    name = f"zp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = args.pg.rsplit("/", 1)[0] + f"/{name}"
        run("postgres", url, args.threads, args.n, args.rounds)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

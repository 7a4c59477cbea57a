"""Ledger throughput: pay-in credits and trade executions per second on SQLite and PostgreSQL.

Method: each figure is the median of ROUNDS timed rounds of N operations through the service
layer (one durable transaction per operation, as the API does). The baseline, measured in the
same run on the same database, is the store's floor: one durable commit of one row per
operation; the ratio says how much of the cost is our work rather than the commit itself.
Prints figures only; nothing here asserts on time.

Usage: .venv/bin/python bench/ledger.py [--n 300] [--rounds 3] [--pg URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.services import partners, payins, trading
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.store.open import open_store


def ctx(role: str = "operator", partner_id: str | None = None) -> Ctx:
    return Ctx(ids.new_id(ids.REQUEST), datetime.now(UTC), Actor("bench", role, partner_id))


def timed(rounds: int, n: int, op: Callable[[int], None]) -> float:
    """Median operations per second over ``rounds`` rounds of ``n`` operations."""
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(n):
            op(i)
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def baseline(dep: Deployment, rounds: int, n: int) -> float:
    def op(i: int) -> None:
        dep.store.write(lambda tx: tx.set_setting("bench", str(i)))

    return timed(rounds, n, op)


def credits(dep: Deployment, rounds: int, n: int) -> float:
    created = partners.create_partner(
        dep, ctx(), name="bench", balance_model="debit", currencies=["EUR"]
    )
    ref = created.partner.currencies[0].funding_reference

    def op(i: int) -> None:
        note = payins.notification(
            dep,
            bank_transaction_id=f"bench-{uuid.uuid4()}",
            amount="10.00",
            currency="EUR",
            booking_status="booked",
            reference=ref,
        )
        payins.record_payin(dep, ctx(), note)

    return timed(rounds, n, op)


def executions(dep: Deployment, rounds: int, n: int) -> float:
    created = partners.create_partner(
        dep, ctx(), name="bench", balance_model="debit", currencies=["EUR"]
    )
    partner_id = created.partner.id
    ref = created.partner.currencies[0].funding_reference
    note = payins.notification(
        dep,
        bank_transaction_id=f"bench-fund-{uuid.uuid4()}",
        amount="100000000.00",
        currency="EUR",
        booking_status="booked",
        reference=ref,
    )
    payins.record_payin(dep, ctx(), note)
    server = ctx("partner_server", partner_id)
    quote_ids = [
        trading.create_quote(
            dep, server, pool_id="EUR-USDT", source_amount="10.00", partner_order_id=None
        ).quote.id
        for _ in range(n * rounds)
    ]
    remaining = iter(quote_ids)

    def op(i: int) -> None:
        quote_id = next(remaining)
        trading.execute_trade(
            dep,
            ctx("partner_server", partner_id),
            quote_id=quote_id,
            partner_order_id=f"o-{quote_id}",  # an order is executed once: one per quote
        )

    return timed(rounds, n, op)


def run(label: str, url: str, rounds: int, n: int) -> None:
    store = open_store(url)
    initialize(store, "test")
    dep = deployment(Settings(db_url=url), store)
    floor = baseline(dep, rounds, n)
    credit = credits(dep, rounds, n)
    execute = executions(dep, rounds, n)
    store.close()
    print(f"{label:8} baseline commit  {floor:8.0f}/s")
    print(f"{label:8} payin credit     {credit:8.0f}/s  ({credit / floor:.2f} x baseline)")
    print(f"{label:8} trade execution  {execute:8.0f}/s  ({execute / floor:.2f} x baseline)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    on_both_stores(lambda label, url: run(label, url, args.rounds, args.n), args.pg)


def on_both_stores(run: Callable[[str, str], None], pg_admin_url: str) -> None:
    """``run(label, url)`` on a fresh SQLite file, then on a throwaway PostgreSQL database."""
    with tempfile.TemporaryDirectory() as folder:
        run("sqlite", f"sqlite:///{folder}/bench.db")
    name = f"zp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        run("postgres", pg_admin_url.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

"""What the events outbox costs the trade path: executions per second with and without it.

Method: one funded partner, trades executed one by one through the command door
(``trading.execute_trade`` -> ``dispatch.apply``: one durable transaction each, the path of
``POST /v1/trades`` minus HTTP), on SQLite and PostgreSQL. "without" replaces the outbox writer
(``services.events.publish``) and the balance-crossing check with no-ops in this process; the
two variants alternate round by round on the same database so drift hits both alike. Prints the
median of ROUNDS rounds of N executions per variant and their ratio; asserts nothing on time.

Usage: .venv/bin/python bench/outbox.py [--n 300] [--rounds 5] [--pg URL]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ledger import ctx, on_both_stores  # bench/ledger.py: its contexts and databases

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.services import events, partners, payins, trading
from zeropools.services.context import Deployment
from zeropools.store.open import open_store


@contextmanager
def outbox_off() -> Iterator[None]:
    publish, crossings = events.publish, events.balance_events

    def no_publish(*args: Any, **kwargs: Any) -> list[Any]:
        return []

    events.publish = no_publish  # type: ignore[assignment]
    events.balance_events = no_publish  # type: ignore[assignment]
    try:
        yield
    finally:
        events.publish, events.balance_events = publish, crossings


def funded(dep: Deployment) -> str:
    created = partners.create_partner(
        dep, ctx(), name="bench", balance_model="debit", currencies=["EUR"]
    )
    note = payins.notification(
        dep,
        bank_transaction_id=f"bench-fund-{uuid.uuid4()}",
        amount="100000000.00",
        currency="EUR",
        booking_status="booked",
        reference=created.partner.currencies[0].funding_reference,
    )
    payins.record_payin(dep, ctx(), note)
    return created.partner.id


def round_rate(dep: Deployment, partner_id: str, n: int) -> float:
    server = ctx("partner_server", partner_id)
    quote_ids = [
        trading.create_quote(
            dep, server, pool_id="EUR-USDT", source_amount="10.00", partner_order_id=None
        ).quote.id
        for _ in range(n)
    ]
    start = time.perf_counter()
    for quote_id in quote_ids:
        trading.execute_trade(
            dep, ctx("partner_server", partner_id), quote_id=quote_id, partner_order_id=quote_id
        )
    return n / (time.perf_counter() - start)


def run(label: str, url: str, rounds: int, n: int) -> None:
    store = open_store(url)
    initialize(store, "test")
    dep = deployment(Settings(db_url=url), store)
    partner_id = funded(dep)
    with_outbox, without = [], []
    for _ in range(rounds):
        with_outbox.append(round_rate(dep, partner_id, n))
        with outbox_off():
            without.append(round_rate(dep, partner_id, n))
    store.close()
    on, off = statistics.median(with_outbox), statistics.median(without)
    print(f"{label:8} executions without outbox {off:8.0f}/s")
    print(f"{label:8} executions with outbox    {on:8.0f}/s  ({on / off:.2f} x without)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    on_both_stores(lambda label, url: run(label, url, args.rounds, args.n), args.pg)


if __name__ == "__main__":
    main()

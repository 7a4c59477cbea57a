"""Operators' trade actions find their partners' lanes with shared reads.

Goal (issue 13, operator writes): an operator's settle names only the trade, so its lane (the
trade's partner) was read per request before the command could be queued: a thread, a pooled
connection and a transaction each, as much CPU as the settle itself on PostgreSQL. Requests
waiting at the same moment now share one read (``services.lane_lookups``). What must hold:
every request gets its own trade's partner (None for no such trade) however many share a read;
concurrent requests make fewer reads than requests; a failed read fails the requests that were
waiting on it and the next request reads again; a request cancelled while waiting leaves the
others answered.

Method: the service layer on both stores; ``SqlTrades.trade_partners`` counted (and made to
fail) by wrapping it; requests as coroutines on one event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from support import fund, onboard, quote, server_ctx
from zeropools.services import trading
from zeropools.services.commands import MoveTrade
from zeropools.services.context import Ctx, Deployment
from zeropools.services.lane_lookups import TradePartners
from zeropools.store.sql.trades import SqlTrades


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    seen: list[list[str]] = []
    original = SqlTrades.trade_partners

    def counted(self: SqlTrades, trade_ids: Sequence[str]) -> Any:
        seen.append(list(trade_ids))
        if "pt_test_fail" in trade_ids:
            raise RuntimeError("the database went away")
        return original(self, trade_ids)

    monkeypatch.setattr(SqlTrades, "trade_partners", counted)
    return seen


def _trades(dep: Deployment, count: int) -> dict[str, str]:
    """trade id -> partner id, over two partners."""
    made = {}
    for partner_id in (onboard(dep).partner.id, onboard(dep).partner.id):
        fund(dep, partner_id, "1000.00")
        for _ in range(count):
            q = quote(dep, partner_id, "10.00")
            server = server_ctx(partner_id)
            made[trading.execute_trade(dep, server, quote_id=q, partner_order_id=q).trade.id] = (
                partner_id
            )
    return made


def test_waiting_requests_share_reads_and_each_gets_its_own_partner(
    dep: Deployment, operator: Ctx, reads: list[list[str]]
) -> None:
    made = _trades(dep, 10)
    asked = [*made, "pt_test_nosuchtrade", *made]  # 41 requests, repeats included

    async def all_at_once() -> list[str | None]:
        lanes = [
            trading.move_lane_async(dep, operator, MoveTrade(trade_id, "settled"))
            for trade_id in asked
        ]
        return list(await asyncio.gather(*lanes))

    assert asyncio.run(all_at_once()) == [made.get(t) for t in asked]
    assert 1 <= len(reads) <= 2  # the first request's read, then one for everyone after it
    assert sorted({t for read in reads for t in read}) == sorted(set(asked))


def test_a_failed_read_fails_its_waiters_and_the_next_request_reads_again(
    dep: Deployment, reads: list[list[str]]
) -> None:
    made = _trades(dep, 1)
    partners = TradePartners()

    async def run() -> tuple[list[Any], str | None]:
        first = await asyncio.gather(
            partners.partner_of(dep.store, "pt_test_fail"),
            partners.partner_of(dep.store, "pt_test_fail"),
            return_exceptions=True,
        )
        trade_id = next(iter(made))
        return first, await partners.partner_of(dep.store, trade_id)

    failed, after = asyncio.run(run())
    assert [str(f) for f in failed] == ["the database went away"] * 2
    assert after == next(iter(made.values()))


def test_a_request_cancelled_while_waiting_leaves_the_others_answered(
    dep: Deployment, reads: list[list[str]]
) -> None:
    made = _trades(dep, 2)
    first, second = list(made)[:2]
    partners = TradePartners()

    async def run() -> str | None:
        leaving = asyncio.ensure_future(partners.partner_of(dep.store, first))
        staying = asyncio.ensure_future(partners.partner_of(dep.store, second))
        await asyncio.sleep(0)  # both are waiting on the read now
        leaving.cancel()
        return await staying

    assert asyncio.run(run()) == made[second]

"""A trade's settle (release, fail, return) reads the trade again under the partner's lock only
when its first read was made without that lock.

Goal (issue 13, fewer round trips): a lifecycle action reads the trade to find its partner,
locks the partner's ledger, and reads it again, since the status may have moved in between.
In a batch of one partner's actions the lock is already held from the first one, so the first
read was made under it and the second is a round trip for nothing. What must hold: the first
action of a transaction still reads twice; a later one on the same partner reads once and still
sees what the earlier ones did (the same trade moved twice in one transaction: the second move
is refused as the transition it is); and after a savepoint that wrote is rolled back (which may
release locks taken inside it) the transaction no longer claims to hold the lock.

Method: the service layer's ``move_in`` inside one store transaction, on both stores, with
``SqlTrades.get_trade`` counted by wrapping it; ``holds_ledger`` through the store.
"""

from __future__ import annotations

import pytest

from support import fund, onboard, quote, recorded_calls, server_ctx
from zeropools.domain import trades
from zeropools.domain.errors import InvalidTransition
from zeropools.services import trading
from zeropools.services.commands import MoveTrade
from zeropools.services.context import Ctx, Deployment
from zeropools.store.protocol import Store, Tx
from zeropools.store.sql.trades import SqlTrades


@pytest.fixture
def trade_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return recorded_calls(monkeypatch, SqlTrades, "get_trade")


def _executed(dep: Deployment, partner_id: str, count: int) -> list[str]:
    ctx = server_ctx(partner_id)
    return [
        trading.execute_trade(
            dep, ctx, quote_id=(q := quote(dep, partner_id, "10.00")), partner_order_id=q
        ).trade.id
        for _ in range(count)
    ]


def test_a_move_after_another_on_the_same_partner_reads_the_trade_once(
    dep: Deployment, operator: Ctx, trade_reads: list[str]
) -> None:
    partner_id = onboard(dep).partner.id
    fund(dep, partner_id, "100.00")
    first, second = _executed(dep, partner_id, 2)
    trade_reads.clear()

    def work(tx: Tx) -> list[str]:
        settled = trading.move_in(dep, operator, tx, MoveTrade(first, trades.SETTLED))
        assert trade_reads == [first, first]  # found, then again under the lock
        released = trading.move_in(dep, operator, tx, MoveTrade(second, trades.RELEASED))
        assert trade_reads == [first, first, second]  # read under the lock already
        with pytest.raises(InvalidTransition):  # it sees the settle made in this transaction
            trading.move_in(dep, operator, tx, MoveTrade(first, trades.RELEASED))
        return [settled.trade.status, released.trade.status]

    assert dep.store.write(work) == [trades.SETTLED, trades.RELEASED]
    stored = {t: dep.store.read(lambda tx, t=t: tx.get_trade(t)) for t in (first, second)}
    assert {t: s.status for t, s in stored.items() if s} == {
        first: trades.SETTLED,
        second: trades.RELEASED,
    }


def test_a_rolled_back_savepoint_that_wrote_forgets_the_lock(dep: Deployment) -> None:
    partner_id = onboard(dep).partner.id
    store: Store = dep.store

    def work(tx: Tx) -> list[bool]:
        held = [tx.holds_ledger(partner_id)]
        tx.lock_ledger(partner_id)
        held.append(tx.holds_ledger(partner_id))
        with pytest.raises(InvalidTransition), tx.savepoint():
            tx.set_setting("undone", "yes")  # a write: the savepoint is sent
            raise InvalidTransition("undo it")
        held.append(tx.holds_ledger(partner_id))
        return held

    assert store.write(work) == [False, True, False]
    assert store.read(lambda tx: tx.get_setting("undone")) is None

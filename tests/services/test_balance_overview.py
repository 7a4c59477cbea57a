"""The operator's overview of partners with balances (``balances.partner_balances``): one
snapshot of a page of partners and their pending totals, agreeing with each partner's own
``list_balances``; partners only see their own, so the overview is the operator's alone.

Method: real deployments of each store (``dep`` fixture); trades left in each pending state
and in a final one, so ``pending`` differs per partner and per currency."""

from __future__ import annotations

import pytest

from support import ctx_for, fund, new_partner_id, quote, server_ctx
from zeropools.domain.errors import Forbidden
from zeropools.domain.paging import Page
from zeropools.services import trading
from zeropools.services.balances import list_balances, partner_balances
from zeropools.services.context import Deployment


def _execute(dep: Deployment, partner_id: str, amount: str) -> str:
    quote_id = quote(dep, partner_id, amount)
    view = trading.execute_trade(
        dep, server_ctx(partner_id), quote_id=quote_id, partner_order_id=f"order-{amount}"
    )
    return view.trade.id


def test_the_overview_agrees_with_each_partners_own_balances(dep: Deployment) -> None:
    debit = new_partner_id(dep, "debit", "Debit Wallet")
    reserve = new_partner_id(dep, "reserve", "Reserve Exchange")
    idle = new_partner_id(dep, "debit", "Idle Wallet")
    for partner_id in (debit, reserve):
        fund(dep, partner_id, "1000.00")
    _execute(dep, debit, "100.00")  # debited: pending
    settled = _execute(dep, debit, "50.00")
    trading.move_trade(dep, ctx_for(), settled, "settled")  # final: not pending
    _execute(dep, reserve, "70.00")  # reserved: pending

    operator = ctx_for()  # one clock reading: the views carry it as ``as_of``
    overview = partner_balances(dep, operator, Page.of(10))

    assert [p.id for p, _ in overview] == [idle, reserve, debit]  # newest first
    for partner, views in overview:
        assert views == list_balances(dep, operator, partner.id)
    pending = {p.id: [(v.currency, v.pending_minor) for v in views] for p, views in overview}
    assert pending == {debit: [("EUR", 10000)], reserve: [("EUR", 7000)], idle: [("EUR", 0)]}


def test_a_partner_key_cannot_read_the_overview(dep: Deployment) -> None:
    partner_id = new_partner_id(dep)
    with pytest.raises(Forbidden):
        partner_balances(dep, server_ctx(partner_id), Page.of(10))

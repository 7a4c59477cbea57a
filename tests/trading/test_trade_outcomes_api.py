"""What the venue reports, kept exactly: delivered amounts within tolerance, reasons on entries.

Goal: ``settle`` refuses a ``delivered_amount`` outside ``DELIVERY_TOLERANCE_BPS`` of the quoted
target (422 ``validation_error`` on ``delivered_amount``, with the accepted window) and shows
``delivery_difference`` on the trade when inside it; the reason of a fail, return or release
reaches the ``buy_refund`` / ``trade_release`` / ``buy_return`` entry it posts (and is hashed
with it, so ``verify`` still passes).
Method: the HTTP API over SQLite and PostgreSQL through ``support.Http`` (a trade of
100.00 EUR on EUR-USDT), and the service layer for a deployment with another tolerance.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from support import Http, assert_problem, ctx_for, fund, new_partner_id, quote, server_ctx
from zeropools.domain import limits, trades
from zeropools.domain.errors import ValidationFailed
from zeropools.services import trading
from zeropools.services.context import Deployment
from zeropools.services.verify import verify


def _window(target: str, bps: int) -> tuple[Decimal, Decimal]:
    slack = Decimal(target) * bps / 10_000
    return Decimal(target) - slack, Decimal(target) + slack


def test_a_delivery_far_from_the_quoted_target_is_refused_and_changes_nothing(http: Http) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")

    refused = http.move(
        http.operator, trade["id"], "settle", {"delivered_amount": "999999.000000"}, key="s"
    )

    problem = assert_problem(refused, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["delivered_amount"]
    assert problem["target_amount"] == trade["target_amount"]
    assert problem["tolerance_bps"] == limits.DELIVERY_TOLERANCE_BPS
    low, high = _window(trade["target_amount"], limits.DELIVERY_TOLERANCE_BPS)
    assert Decimal(problem["delivered_amount_min"]) >= low
    assert Decimal(problem["delivered_amount_max"]) <= high
    read = http.client.get(f"/v1/trades/{trade['id']}", headers=partner.server).json()
    assert (read["status"], read["delivered_amount"]) == ("debited", None)
    # an input-validation refusal leaves the key free: the corrected report settles with it
    corrected = http.move(http.operator, trade["id"], "settle", {}, key="s")
    assert corrected.status_code == 200, corrected.text


def test_a_delivery_within_tolerance_settles_and_shows_the_difference(http: Http) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")
    short = Decimal(trade["target_amount"]) - Decimal("0.010000")

    settled = http.move(http.operator, trade["id"], "settle", {"delivered_amount": f"{short:f}"})

    assert settled.status_code == 200, settled.text
    body = settled.json()
    assert body["delivered_amount"] == f"{short:f}"
    assert body["delivery_difference"] == "-0.010000"


def test_a_settle_without_a_delivered_amount_delivers_the_target_with_no_difference(
    http: Http,
) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")
    assert trade["delivery_difference"] is None

    settled = http.move(http.operator, trade["id"], "settle").json()

    assert settled["delivered_amount"] == trade["target_amount"]
    assert settled["delivery_difference"] == "0.000000"


def test_the_tolerance_is_the_deployments_and_bounds_are_inclusive(dep: Deployment) -> None:
    strict = replace(dep, delivery_tolerance_bps=0)
    partner_id = new_partner_id(dep)
    fund(dep, partner_id, "500.00")
    opened = [
        trading.execute_trade(
            dep,
            server_ctx(partner_id),
            quote_id=quote(dep, partner_id, "100.00"),
            partner_order_id=f"o-{i}",
        ).trade
        for i in range(2)
    ]
    target = opened[0].target_amount_minor
    low, high = trades.delivery_bounds(target, limits.DELIVERY_TOLERANCE_BPS)
    exact = dep.currencies.format(target, opened[0].asset)
    one_more = dep.currencies.format(target + 1, opened[0].asset)

    with pytest.raises(ValidationFailed) as refused:
        trading.move_trade(
            strict, ctx_for(), opened[0].id, trades.SETTLED, delivered_amount=one_more
        )
    settled = trading.move_trade(
        strict, ctx_for(), opened[0].id, trades.SETTLED, delivered_amount=exact
    )
    at_edge = trading.move_trade(
        dep,
        ctx_for(),
        opened[1].id,
        trades.SETTLED,
        delivered_amount=dep.currencies.format(high, opened[1].asset),
    )

    assert refused.value.extra["tolerance_bps"] == 0
    assert settled.trade.delivered_amount_minor == target
    assert at_edge.trade.delivered_amount_minor == high
    assert low < target < high


@pytest.mark.parametrize(
    ("model", "unwinding", "entry_type"),
    [
        ("debit", "fail", "buy_refund"),
        ("reserve", "fail", "trade_release"),
        ("debit", "release", "buy_refund"),
        ("reserve", "release", "trade_release"),
    ],
)
def test_the_reason_of_an_unwind_reaches_its_ledger_entry(
    http: Http, module_dep: Deployment, model: str, unwinding: str, entry_type: str
) -> None:
    partner = http.partner(balance_model=model)
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")
    who = http.operator if unwinding == "fail" else partner.server

    moved = http.move(who, trade["id"], unwinding, {"reason": "venue: no liquidity"})

    assert moved.status_code == 200, moved.text
    entries = http.entries(partner, trade_id=trade["id"])
    unwind = [e for e in entries if e["type"] == entry_type]
    assert [e["reason"] for e in unwind] == ["venue: no liquidity"]
    assert verify(module_dep.store).ok


def test_the_reason_of_a_return_reaches_the_buy_return_entry(
    http: Http, module_dep: Deployment
) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")
    assert http.move(http.operator, trade["id"], "settle").status_code == 200

    returned = http.move(http.operator, trade["id"], "return", {"reason": "address rejected"})

    assert returned.status_code == 200, returned.text
    entries = http.entries(partner, trade_id=trade["id"])
    assert [(e["type"], e["reason"]) for e in entries] == [
        ("buy_debit", None),
        ("buy_return", "address rejected"),
    ]
    assert verify(module_dep.store).ok

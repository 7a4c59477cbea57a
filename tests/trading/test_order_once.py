"""An order is paid once, and lists filtered by an unknown partner are 404.

Goal: a second execution of a ``partner_order_id`` that already has an open or settled trade is
refused with 409 ``order_already_executed`` naming that trade (two keys, two quotes: still one
debit); after a release or a failure the order may be retried with a fresh quote. And
``?partner_id=`` naming no partner is a 404 on every partner-scoped list, never an empty page.
Method: the service layer on both stores, and the HTTP answers for the codes and the lists.
"""

from __future__ import annotations

import uuid

import pytest

from support import (
    app_client,
    assert_problem,
    balance_minor,
    bearer,
    ctx_for,
    issue_operator_key,
    onboard,
    reference_of,
    send_payin,
)
from zeropools.domain import trades
from zeropools.domain.errors import OrderAlreadyExecuted
from zeropools.services import trading
from zeropools.services.context import Deployment
from zeropools.services.partners import NewPartner


def _funded(dep: Deployment, balance_model: str = "debit") -> NewPartner:
    new = onboard(dep, balance_model=balance_model)
    send_payin(dep, f"bank-{uuid.uuid4()}", "100.00", reference=reference_of(new))
    return new


def _execute(dep: Deployment, partner_id: str, order: str) -> trading.TradeView:
    server = ctx_for("partner_server", partner_id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="10.00", partner_order_id=None
    )
    return trading.execute_trade(dep, server, quote_id=quote.quote.id, partner_order_id=order)


@pytest.mark.parametrize("balance_model", ["debit", "reserve"])
def test_a_second_execution_of_an_open_order_is_refused_naming_the_trade(
    dep: Deployment, balance_model: str
) -> None:
    new = _funded(dep, balance_model)
    first = _execute(dep, new.partner.id, "order-1")

    with pytest.raises(OrderAlreadyExecuted) as refused:
        _execute(dep, new.partner.id, "order-1")

    assert refused.value.extra["trade_id"] == first.trade.id
    assert balance_minor(dep, new.partner.id) == (
        (90_00, 0) if balance_model == "debit" else (90_00, 10_00)
    )


def test_a_settled_order_is_not_executed_again(dep: Deployment) -> None:
    new = _funded(dep)
    first = _execute(dep, new.partner.id, "order-s")
    trading.move_trade(dep, ctx_for(), first.trade.id, trades.SETTLED)

    with pytest.raises(OrderAlreadyExecuted):
        _execute(dep, new.partner.id, "order-s")


@pytest.mark.parametrize("ending", [trades.RELEASED, trades.FAILED])
def test_after_a_release_or_failure_the_order_may_be_retried(dep: Deployment, ending: str) -> None:
    new = _funded(dep)
    first = _execute(dep, new.partner.id, "order-r")
    trading.move_trade(dep, ctx_for(), first.trade.id, ending, reason="venue said no")

    again = _execute(dep, new.partner.id, "order-r")

    assert again.trade.status == trades.DEBITED
    assert balance_minor(dep, new.partner.id) == (90_00, 0)


def test_over_http_two_keys_for_one_order_debit_once_and_the_second_is_409(
    dep: Deployment,
) -> None:
    new = _funded(dep)
    headers = bearer(next(k.secret for k in new.keys if k.key.role == "partner_server"))
    with app_client(dep) as client:
        answers = []
        for key in ("k-1", "k-2"):
            quote = client.post(
                "/v1/quotes",
                json={"pool_id": "EUR-USDT", "source_amount": "10.00"},
                headers=headers,
            ).json()
            answers.append(
                client.post(
                    "/v1/trades",
                    json={"quote_id": quote["id"], "partner_order_id": "order-http"},
                    headers={**headers, "Idempotency-Key": key},
                )
            )

    assert answers[0].status_code == 201
    problem = assert_problem(answers[1], 409, "order_already_executed")
    assert problem["trade_id"] == answers[0].json()["id"]
    assert balance_minor(dep, new.partner.id) == (90_00, 0)


@pytest.mark.parametrize(
    "path",
    ["/v1/ledger-entries", "/v1/trades", "/v1/payins", "/v1/trade-refusals", "/v1/balances"],
)
def test_a_list_for_an_unknown_partner_is_404_not_an_empty_page(dep: Deployment, path: str) -> None:
    operator = bearer(issue_operator_key(dep).secret)
    with app_client(dep) as client:
        answer = client.get(f"{path}?partner_id=partner_nope", headers=operator)

    assert_problem(answer, 404, "not_found")

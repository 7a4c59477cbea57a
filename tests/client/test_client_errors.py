"""Non-2xx answers become ApiError with the problem document's fields.

Goal: an RFC 9457 problem document turns into the ``ApiError`` subclass of its ``code``
(``InsufficientBalance`` for ``insufficient_balance``, ...) carrying ``status``, ``code``,
``detail``, ``request_id``, ``title``, ``type`` and the whole ``problem``; amounts in it read as
Decimal; an unknown code stays a plain ``ApiError``; an error body that is not a problem
document (a proxy's HTML) still gives an ``ApiError`` with the status and the request id
header.

Method: a scripted fake API on ``httpx.MockTransport``.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from client_support import harness, problem, scripted

from zeropools.client import (
    ApiError,
    InsufficientBalance,
    NotFound,
    OrderAlreadyExecuted,
    Unauthenticated,
    ValidationError,
    ZeropoolsError,
)


def test_insufficient_balance_carries_every_field_of_the_problem_document() -> None:
    refusal = problem(
        409,
        "insufficient_balance",
        request_id="req_abc",
        currency="EUR",
        requested="250.00",
        available="100.00",
        shortfall="150.00",
    )
    with harness(scripted(refusal)) as h, pytest.raises(InsufficientBalance) as raised:
        h.client.execute("pq_test_1", "order_1", idempotency_key="order_1")

    error = raised.value
    assert isinstance(error, ApiError) and isinstance(error, ZeropoolsError)
    assert (error.status, error.code, error.request_id) == (409, "insufficient_balance", "req_abc")
    assert error.detail == "refused: insufficient_balance"
    assert error.type == "/errors/insufficient_balance"
    assert error.title == "Insufficient balance"
    assert error.problem["shortfall"] == "150.00"
    assert error.problem["status"] == 409
    assert (error.currency, error.requested, error.available, error.shortfall) == (
        "EUR",
        Decimal("250.00"),
        Decimal("100.00"),
        Decimal("150.00"),
    )
    assert error.idempotency_key == "order_1"
    assert "req_abc" in str(error) and "insufficient_balance" in str(error)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "unauthenticated", Unauthenticated),
        (404, "not_found", NotFound),
        (422, "amount_precision_exceeded", ValidationError),
        (422, "validation_error", ValidationError),
        (409, "order_already_executed", OrderAlreadyExecuted),
    ],
)
def test_each_known_code_has_its_own_class(status: int, code: str, cls: type[ApiError]) -> None:
    with (
        harness(scripted(problem(status, code, trade_id="pt_test_9"))) as h,
        pytest.raises(cls) as raised,
    ):
        h.client.balance("EUR")
    assert raised.value.code == code and raised.value.status == status
    if isinstance(raised.value, OrderAlreadyExecuted):
        assert raised.value.trade_id == "pt_test_9"


def test_an_unknown_code_is_a_plain_api_error_with_everything_kept() -> None:
    with (
        harness(scripted(problem(409, "period_not_ended", tz="Europe/Berlin"))) as h,
        pytest.raises(ApiError) as raised,
    ):
        h.client.balance("EUR")
    assert type(raised.value) is ApiError
    assert raised.value.code == "period_not_ended"
    assert raised.value.problem["tz"] == "Europe/Berlin"


def test_an_error_that_is_not_a_problem_document_keeps_status_and_request_id() -> None:
    html = httpx.Response(
        418,
        content=b"<html><body>I'm a teapot</body></html>",
        headers={"content-type": "text/html", "x-request-id": "req_from_header"},
    )
    with harness(scripted(html)) as h, pytest.raises(ApiError) as raised:
        h.client.balance("EUR")
    error = raised.value
    assert (error.status, error.code, error.request_id) == (418, "http_error", "req_from_header")
    assert "teapot" in error.detail
    assert error.problem == {}


def test_the_validation_errors_list_is_in_the_problem() -> None:
    invalid = problem(
        422, "validation_error", errors=[{"field": "source_amount", "message": "required"}]
    )
    with harness(scripted(invalid)) as h, pytest.raises(ValidationError) as raised:
        h.client.create_quote("EUR-USDT", "")
    assert raised.value.problem["errors"] == [{"field": "source_amount", "message": "required"}]

"""Retries: bounded, only where repeating is safe, with one Idempotency-Key per logical call.

Goal: ``execute`` and ``release`` send an Idempotency-Key (a fresh UUID unless given) and the
same key on every retry; replayable requests (GETs and keyed POSTs) are retried on transport
errors, 409 ``idempotency_key_in_use``, 429 and 5xx, waiting ``Retry-After`` when the server
sends it and an exponential, jittered backoff otherwise; ``create_quote`` (no key) is retried
only when the connection could not be made; business refusals are never retried; after
``max_retries`` the last error is raised (``ApiError`` or ``ApiConnectionError``).

Method: a scripted fake API on ``httpx.MockTransport`` (answers in order, or exceptions raised
as a broken connection would raise them) and a recording ``sleep``, so nothing waits.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from client_support import (
    entry_json,
    harness,
    json_response,
    page,
    problem,
    quote_json,
    scripted,
    trade_json,
)

from zeropools.client import (
    BACKOFF_BASE_S,
    BACKOFF_CAP_S,
    RETRIES_MAX,
    RETRY_AFTER_MAX_S,
    ApiConnectionError,
    ApiError,
    IdempotencyKeyInUse,
    InsufficientBalance,
    RateLimited,
    _retry,
)

TRADE_CREATED = json_response(trade_json(), status=201)


def test_execute_sends_a_fresh_uuid_key_and_the_same_key_on_every_retry() -> None:
    steps = scripted(
        problem(503, "overloaded", headers={"Retry-After": "2"}),
        httpx.ReadError("connection reset"),
        problem(500, "internal_error"),
        TRADE_CREATED,
    )
    with harness(steps) as h:
        trade = h.client.execute("pq_test_1", "order_1")

    assert trade.id == "pt_test_1"
    keys = h.header("idempotency-key")
    assert len(keys) == 4 and len(set(keys)) == 1
    assert keys[0] is not None and uuid.UUID(keys[0]).version == 4
    assert len({r.content for r in h.requests}) == 1  # the very same body each time
    assert h.sleeps[0] == 2.0  # Retry-After honoured


def test_two_execute_calls_without_a_key_get_two_different_keys() -> None:
    with harness(scripted(TRADE_CREATED, TRADE_CREATED)) as h:
        h.client.execute("pq_test_1", "order_1")
        h.client.execute("pq_test_2", "order_2")
    first, second = h.header("idempotency-key")
    assert first != second


def test_execute_with_a_given_key_sends_it_verbatim_on_every_attempt() -> None:
    steps = scripted(problem(409, "idempotency_key_in_use"), TRADE_CREATED)
    with harness(steps) as h:
        h.client.execute("pq_test_1", "order_1", idempotency_key="order_1")
    assert h.header("idempotency-key") == ["order_1", "order_1"]
    assert len(h.sleeps) == 1


def test_release_sends_an_idempotency_key_and_reuses_it_on_retry() -> None:
    released = json_response(trade_json(status="released"))
    steps = scripted(httpx.ReadTimeout("slow"), released)
    with harness(steps) as h:
        trade = h.client.release("pt_test_1", reason="customer cancelled")
    assert trade.status == "released"
    [key, again] = h.header("idempotency-key")
    assert key is not None and key == again
    assert [r.url.path for r in h.requests] == ["/v1/trades/pt_test_1/release"] * 2
    assert h.bodies() == [{"reason": "customer cancelled"}] * 2


def test_create_quote_is_not_retried_on_a_500() -> None:
    with (
        harness(scripted(problem(500, "internal_error"))) as h,
        pytest.raises(ApiError) as raised,
    ):
        h.client.create_quote("EUR-USDT", "100.00")
    assert raised.value.status == 500
    assert len(h.requests) == 1 and h.sleeps == []
    assert h.header("idempotency-key") == [None]


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ReadError("reset"), httpx.RemoteProtocolError("closed")],
)
def test_create_quote_is_not_retried_once_the_request_may_have_been_sent(
    failure: Exception,
) -> None:
    with harness(scripted(failure)) as h, pytest.raises(ApiConnectionError) as raised:
        h.client.create_quote("EUR-USDT", "100.00")
    assert len(h.requests) == 1
    assert raised.value.attempts == 1 and raised.value.__cause__ is failure


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no route")]
)
def test_create_quote_is_retried_when_the_connection_could_not_be_made(
    failure: Exception,
) -> None:
    with harness(scripted(failure, json_response(quote_json(), status=201))) as h:
        quote = h.client.create_quote("EUR-USDT", "100.00")
    assert quote.id == "pq_test_1" and len(h.requests) == 2


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_get_is_retried_on_429_and_5xx_and_then_succeeds(status: int) -> None:
    with harness(scripted(problem(status, "whatever"), page([entry_json(1)], False))) as h:
        assert [e.sequence for e in h.client.ledger_entries()] == [1]
    assert len(h.requests) == 2


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (409, "insufficient_balance"),
        (409, "quote_expired"),
        (404, "not_found"),
        (422, "idempotency_key_reused"),
        (400, "idempotency_key_required"),
        (401, "unauthenticated"),
    ],
)
def test_business_refusals_are_never_retried(status: int, code: str) -> None:
    with harness(scripted(problem(status, code))) as h, pytest.raises(ApiError) as raised:
        h.client.execute("pq_test_1", "order_1")
    assert raised.value.code == code and len(h.requests) == 1 and h.sleeps == []


def test_execute_gives_up_after_max_retries_with_the_last_error_and_its_key() -> None:
    steps = scripted(*[problem(409, "idempotency_key_in_use") for _ in range(3)])
    with harness(steps, max_retries=2) as h, pytest.raises(IdempotencyKeyInUse) as raised:
        h.client.execute("pq_test_1", "order_1")
    assert len(h.requests) == 3 and len(h.sleeps) == 2
    assert raised.value.idempotency_key == h.header("idempotency-key")[0]


def test_transport_failures_give_up_after_max_retries_as_an_api_connection_error() -> None:
    failures = [httpx.ConnectError("refused") for _ in range(RETRIES_MAX + 1)]
    with harness(scripted(*failures)) as h, pytest.raises(ApiConnectionError) as raised:
        h.client.execute("pq_test_1", "order_1", idempotency_key="k-1")
    assert len(h.requests) == RETRIES_MAX + 1
    assert raised.value.attempts == RETRIES_MAX + 1
    assert raised.value.idempotency_key == "k-1"
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


def test_max_retries_zero_sends_exactly_once() -> None:
    with (
        harness(scripted(problem(503, "overloaded")), max_retries=0) as h,
        pytest.raises(ApiError),
    ):
        h.client.balance("EUR")
    assert len(h.requests) == 1


def test_backoff_grows_exponentially_with_jitter_within_half_and_full_step() -> None:
    steps = scripted(*[problem(502, "bad_gateway") for _ in range(6)])
    with harness(steps, max_retries=5) as h, pytest.raises(ApiError):
        h.client.capabilities()
    assert len(h.sleeps) == 5
    for retry, slept in enumerate(h.sleeps, start=1):
        step = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (retry - 1))
        assert step / 2 <= slept <= step, (retry, slept)
    assert h.sleeps[3] > h.sleeps[0]


def test_a_retry_after_beyond_the_cap_is_not_waited_for_but_raised_with_its_value() -> None:
    too_long = str(int(RETRY_AFTER_MAX_S) + 1)
    with (
        harness(scripted(problem(429, "rate_limited", headers={"Retry-After": too_long}))) as h,
        pytest.raises(RateLimited) as raised,
    ):
        h.client.balance("EUR")
    assert raised.value.retry_after_s == float(too_long)
    assert len(h.requests) == 1 and h.sleeps == []


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    in_ten = format_datetime(now + timedelta(seconds=10), usegmt=True)
    assert _retry.retry_after_s("3", now) == 3.0
    assert _retry.retry_after_s(in_ten, now) == 10.0
    assert _retry.retry_after_s(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert _retry.retry_after_s("soon", now) is None
    assert _retry.retry_after_s(None, now) is None


def test_the_retry_rules_as_a_table() -> None:
    rng = random.Random(1)
    assert _retry.may_retry_status(409, "idempotency_key_in_use", replayable=True)
    assert not _retry.may_retry_status(409, "insufficient_balance", replayable=True)
    assert not _retry.may_retry_status(503, "overloaded", replayable=False)
    assert _retry.may_retry_exception(httpx.ConnectError("x"), replayable=False)
    assert not _retry.may_retry_exception(httpx.WriteError("x"), replayable=False)
    assert _retry.may_retry_exception(httpx.WriteError("x"), replayable=True)
    assert not _retry.may_retry_exception(httpx.UnsupportedProtocol("x"), replayable=True)
    assert _retry.wait_s(1, 4.0, rng) == 4.0
    assert _retry.wait_s(1, RETRY_AFTER_MAX_S + 1, rng) is None


def test_a_refused_execution_is_an_insufficient_balance_even_after_a_retry() -> None:
    steps = scripted(httpx.ReadError("reset"), problem(409, "insufficient_balance"))
    with harness(steps) as h, pytest.raises(InsufficientBalance):
        h.client.execute("pq_test_1", "order_1")
    assert len(set(h.header("idempotency-key"))) == 1

"""The client against the real server, over real HTTP.

Goal: with a partner onboarded and funded by the operator over HTTP (as the README shows), the
client with the partner_server key reads capabilities and pools, quotes, executes, reads the
trade and the balance, releases, iterates ``ledger_entries()`` past the first page of 100
(gap-free, summing to the balance), and gets ``InsufficientBalance`` (code
``insufficient_balance``, Decimal shortfall) when a trade exceeds the balance; a response lost
on the way back is retried with the same Idempotency-Key and the money moves once.

Method: ``live_api`` (conftest) serves ``create_app`` with uvicorn on a free port over a fresh
SQLite file; the operator's steps use the shared driver ``support.Http`` over plain httpx,
the partner's use ``zeropools.client.Client`` (over a real ``httpx.HTTPTransport``, once wrapped
to drop one answer). ``events()`` is not here: ``GET /v1/events`` is not served yet (see
test_client_pagination.py for it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from client_support import LiveApi

from support import Http
from zeropools.client import (
    ApiError,
    Client,
    InsufficientBalance,
    NotFound,
    Unauthenticated,
)

SMALL_PAYINS = 110  # with the first credit, more than one page of 100 ledger entries


class Partner:
    """A partner onboarded over HTTP by the operator (``support.Http``), with its partner_server
    key for the client."""

    def __init__(self, live: LiveApi, name: str) -> None:
        self.live = live
        with httpx.Client(base_url=live.base_url, timeout=10.0) as http:
            self.created = Http(http, live.operator).partner(name=name)
        self.id: str = self.created.id
        self.server_key: str = self.created.server_secret

    def credit(self, amount: str, count: int = 1) -> None:
        """``count`` booked pay-ins of ``amount`` EUR with the partner's funding reference."""
        with httpx.Client(base_url=self.live.base_url, timeout=10.0) as http:
            driver = Http(http, self.live.operator)
            for _ in range(count):
                driver.fund(self.created, amount)  # checks the 201 and "credited"


@pytest.fixture
def partner(live_api: LiveApi, request: pytest.FixtureRequest) -> Partner:
    return Partner(live_api, f"Client {request.node.name}"[:80])


@pytest.fixture
def client(live_api: LiveApi, partner: Partner) -> Iterator[Client]:
    with Client(live_api.base_url, partner.server_key, timeout=10.0) as zp:
        yield zp


def test_quote_execute_read_and_release_through_the_client(
    partner: Partner, client: Client
) -> None:
    caps = client.capabilities()
    assert caps.partner_id == partner.id and caps.mode == "test"
    assert caps.actions["execute"] is False  # nothing funded yet

    partner.credit("1000.00")
    assert client.capabilities().actions["execute"] is True
    pools = {pool.id: pool for pool in client.pools()}
    assert pools["EUR-USDT"].enabled and pools["EUR-USDT"].min_amount == Decimal("10.00")

    quote = client.create_quote("EUR-USDT", Decimal("100.00"), partner_order_id="order_1")
    assert quote.source_amount == Decimal("100.00") and quote.status == "open"
    assert quote.target_amount > 0 and quote.expires_at.tzinfo is not None

    trade = client.execute(quote.id, "order_1")
    assert trade.status == "debited" and trade.quote_id == quote.id
    assert trade.source_amount == Decimal("100.00") and trade.currency == "EUR"
    assert client.trade(trade.id) == trade

    balance = client.balance("EUR")
    assert (balance.available, balance.total) == (Decimal("900.00"), Decimal("900.00"))
    assert [(b.currency, b.available) for b in client.balances()] == [("EUR", Decimal("900.00"))]

    released = client.release(trade.id, reason="customer cancelled")
    assert released.status == "released"
    assert client.balance("EUR").available == Decimal("1000.00")
    types = [entry.type for entry in client.ledger_entries()]
    assert types == ["payin_credit", "buy_debit", "buy_refund"]
    assert [e.amount for e in client.ledger_entries(type="buy_debit")] == [Decimal("-100.00")]
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert len(list(client.ledger_entries(currency="EUR", created_gte=an_hour_ago))) == 3
    assert list(client.ledger_entries(created_lt=an_hour_ago)) == []


def test_ledger_entries_iterates_past_the_first_page_of_100(
    partner: Partner, client: Client
) -> None:
    partner.credit("500.00")
    partner.credit("0.01", count=SMALL_PAYINS)

    entries = list(client.ledger_entries())

    assert len(entries) == 1 + SMALL_PAYINS > 100
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))  # gap-free
    assert len({e.id for e in entries}) == len(entries)
    total = sum((e.amount for e in entries), Decimal("0"))
    assert total == Decimal("501.10") == client.balance("EUR").available
    assert entries[-1].available_after == total
    assert all(e.prev_hash == before.hash for before, e in itertools.pairwise(entries))
    # a smaller page size walks more pages to the same entries
    assert [e.id for e in client.ledger_entries(page_size=25)] == [e.id for e in entries]


def test_executing_more_than_the_balance_raises_insufficient_balance(
    partner: Partner, client: Client
) -> None:
    partner.credit("50.00")
    quote = client.create_quote("EUR-USDT", "80.00", partner_order_id="big_order")

    with pytest.raises(InsufficientBalance) as raised:
        client.execute(quote.id, "big_order", idempotency_key="big_order")

    error = raised.value
    assert isinstance(error, ApiError)
    assert (error.status, error.code) == (409, "insufficient_balance")
    assert error.request_id is not None and error.request_id.startswith("req_")
    assert error.problem["type"] == "/errors/insufficient_balance"
    assert error.currency == "EUR"
    assert (error.requested, error.available, error.shortfall) == (
        Decimal("80.00"),
        Decimal("50.00"),
        Decimal("30.00"),
    )
    assert client.balance("EUR").available == Decimal("50.00")
    # the key stays refused: a repeat replays the refusal, it never debits
    with pytest.raises(InsufficientBalance):
        client.execute(quote.id, "big_order", idempotency_key="big_order")


class LosesFirstTradeAnswer(httpx.HTTPTransport):
    """A real transport that lets the first ``POST /v1/trades`` reach the server and then
    loses its answer, as a connection reset after the commit would."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/v1/trades" and self.lost == 0:
            self.lost += 1
            response.read()
            response.close()
            raise httpx.ReadError("answer lost after the server committed", request=request)
        return response


def test_a_lost_answer_is_retried_with_the_same_key_and_the_money_moves_once(
    live_api: LiveApi, partner: Partner
) -> None:
    partner.credit("300.00")
    transport = LosesFirstTradeAnswer()
    slept: list[float] = []
    with Client(
        live_api.base_url, partner.server_key, transport=transport, sleep=slept.append
    ) as zp:
        quote = zp.create_quote("EUR-USDT", "120.00", partner_order_id="order_lost")
        trade = zp.execute(quote.id, "order_lost")

        assert transport.lost == 1 and len(slept) == 1  # one retry after the lost answer
        assert trade.status == "debited"
        assert zp.balance("EUR").available == Decimal("180.00")  # debited once, not twice
        assert [e.type for e in zp.ledger_entries()] == ["payin_credit", "buy_debit"]


def test_unknown_ids_and_bad_keys_raise_their_error_classes(
    live_api: LiveApi, client: Client
) -> None:
    with pytest.raises(NotFound) as missing:
        client.trade("pt_test_doesnotexist")
    assert missing.value.status == 404 and missing.value.request_id

    stranger = Client(live_api.base_url, "zpk_test_not_a_real_key_at_all_000000000")
    with stranger, pytest.raises(Unauthenticated) as refused:
        stranger.balance("EUR")
    assert refused.value.status == 401

"""Money is Decimal both ways, times are aware, and answers that break the contract say so.

Goal: every amount the client returns is a ``Decimal`` parsed from the API's decimal string
(scale kept: ``"107.420000"``), no JSON number ever becomes a float, times are aware
``datetime``; amounts go out as strings (``Decimal`` in plain notation, ``str`` as given) and a
float is refused before anything is sent; a 2xx body that is not the contract raises
``UnexpectedResponse`` naming the field.

Method: a fake API on ``httpx.MockTransport`` answering with objects shaped like the server's;
the requests the client sent are read back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from client_support import (
    balance_json,
    harness,
    json_response,
    page,
    quote_json,
    scripted,
    trade_json,
)

from zeropools.client import Balance, Capabilities, Quote, Trade, UnexpectedResponse
from zeropools.client._http import loads


def test_a_quote_comes_back_with_decimal_amounts_that_keep_their_scale() -> None:
    with harness(scripted(json_response(quote_json(), status=201))) as h:
        quote = h.client.create_quote("EUR-USDT", Decimal("100.00"), partner_order_id="order_1")

    assert isinstance(quote, Quote)
    assert quote.source_amount == Decimal("100.00")
    assert str(quote.target_amount) == "107.420000"  # the scale survives
    assert quote.rate == Decimal("1.0796") and quote.fee == Decimal("0.50")
    for amount in (quote.source_amount, quote.target_amount, quote.rate, quote.fee):
        assert type(amount) is Decimal
    assert quote.expires_at == datetime(2026, 11, 23, 9, 15, 30, 123456, tzinfo=UTC)
    assert quote.expires_at.tzinfo is not None
    assert quote.raw["fee_bps"] == 50  # unmodelled fields stay reachable


def test_amounts_are_sent_as_strings_whatever_form_the_decimal_has() -> None:
    answers = [json_response(quote_json(), status=201) for _ in range(3)]
    with harness(scripted(*answers)) as h:
        h.client.create_quote("EUR-USDT", Decimal("100.50"))
        h.client.create_quote("EUR-USDT", Decimal("1E+2"))  # plain notation, never "1E+2"
        h.client.create_quote("EUR-USDT", "100.5")  # a string goes as given
    assert [body["source_amount"] for body in h.bodies()] == ["100.50", "100", "100.5"]
    assert h.bodies()[0] == {"pool_id": "EUR-USDT", "source_amount": "100.50"}
    assert b"100.50" in h.requests[0].content and h.header("content-type")[0] == "application/json"


@pytest.mark.parametrize("amount", [100.5, 100, None])
def test_an_amount_that_is_not_decimal_or_str_is_a_type_error_and_nothing_is_sent(
    amount: Any,
) -> None:
    with harness(scripted()) as h, pytest.raises(TypeError, match="Decimal or str"):
        h.client.create_quote("EUR-USDT", amount)
    assert h.requests == []


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity"])
def test_a_decimal_that_is_not_finite_is_refused(amount: str) -> None:
    with harness(scripted()) as h, pytest.raises(ValueError):
        h.client.create_quote("EUR-USDT", Decimal(amount))
    assert h.requests == []


def test_no_json_number_ever_becomes_a_float() -> None:
    parsed = loads('{"a": 1.10, "b": 3, "c": [2.5e3], "d": "1.00"}')
    assert parsed == {"a": Decimal("1.10"), "b": 3, "c": [Decimal("2.5e3")], "d": "1.00"}
    assert type(parsed["a"]) is Decimal and type(parsed["b"]) is int
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError):
            loads(f'{{"x": {constant}}}')


def test_a_trade_and_balances_parse_to_decimals_and_aware_times() -> None:
    steps = scripted(
        json_response(trade_json(delivered_amount="107.400000")),
        json_response(balance_json()),
        page([balance_json(), balance_json(currency="USD", available="5.00")], has_more=False),
    )
    with harness(steps) as h:
        trade = h.client.trade("pt_test_1")
        balance = h.client.balance("EUR")
        balances = h.client.balances()

    assert isinstance(trade, Trade)
    assert trade.source_amount == Decimal("100.00") and trade.currency == "EUR"
    assert trade.delivered_amount == Decimal("107.400000")
    assert trade.ledger_entry_ids == ("ple_000002",)
    assert trade.created_at.utcoffset() is not None
    assert isinstance(balance, Balance)
    assert (balance.available, balance.pending, balance.low_balance_threshold) == (
        Decimal("900.00"),
        Decimal("100.00"),
        Decimal("50.00"),
    )
    assert [b.currency for b in balances] == ["EUR", "USD"]
    assert balances[1].available == Decimal("5.00")
    assert [r.url.path for r in h.requests] == [
        "/v1/trades/pt_test_1",
        "/v1/balances/EUR",
        "/v1/balances",
    ]


def test_ids_in_paths_are_escaped_so_they_cannot_reach_another_path() -> None:
    with harness(scripted(json_response(trade_json()))) as h:
        h.client.trade("../balances/EUR?x=1")
    assert h.requests[0].url.raw_path == b"/v1/trades/..%2Fbalances%2FEUR%3Fx%3D1"


def test_capabilities_parse_pools_and_actions() -> None:
    pool = {
        "id": "EUR-USDT",
        "object": "pool",
        "source_currency": "EUR",
        "target_asset": "USDT",
        "min_amount": "10.00",
        "max_amount": "100000.00",
        "fee_bps": 50,
        "enabled": True,
    }
    body = {
        "id": "cap_fake",
        "object": "capabilities",
        "partner_id": "partner_fake",
        "mode": "test",
        "balance_model": "debit",
        "currencies": ["EUR"],
        "funded_currencies": [],
        "funding_methods": ["bank_transfer"],
        "pools": [pool],
        "actions": {"create_quote": True, "execute": False, "release": True, "read_ledger": True},
    }
    with harness(scripted(json_response(body), page([pool], has_more=False))) as h:
        caps = h.client.capabilities()
        pools = h.client.pools()
    assert isinstance(caps, Capabilities)
    assert caps.actions["execute"] is False and caps.pools[0].min_amount == Decimal("10.00")
    assert pools == [caps.pools[0]]
    assert pools[0].max_amount == Decimal("100000.00")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("source_amount", 100.0, "decimal string"),
        ("source_amount", "1e2", "decimal string"),
        ("source_amount", "NaN", "decimal string"),
        ("expires_at", "2026-11-23T09:15:30", "UTC offset"),
        ("expires_at", "yesterday", "RFC 3339"),
        ("status", None, "string"),
    ],
)
def test_a_field_of_the_wrong_type_is_an_unexpected_response_naming_it(
    field: str, value: Any, message: str
) -> None:
    with (
        harness(scripted(json_response(quote_json(**{field: value})))) as h,
        pytest.raises(UnexpectedResponse, match=message) as raised,
    ):
        h.client.quote("pq_test_1")
    assert field in str(raised.value)


def test_a_missing_field_is_an_unexpected_response_naming_it() -> None:
    body = quote_json()
    del body["target_amount"]
    with (
        harness(scripted(json_response(body))) as h,
        pytest.raises(UnexpectedResponse, match="target_amount"),
    ):
        h.client.quote("pq_test_1")


def test_a_success_that_is_not_json_is_an_unexpected_response() -> None:
    html = httpx.Response(200, content=b"<html>captive portal</html>")
    with harness(scripted(html)) as h, pytest.raises(UnexpectedResponse, match="not JSON"):
        h.client.balance("EUR")


def test_request_bodies_are_compact_json_with_only_strings_for_money() -> None:
    with harness(scripted(json_response(trade_json(), status=201))) as h:
        h.client.execute("pq_test_1", "order_1", "key-1", destination="0xabc")
    assert json.loads(h.requests[0].content) == {
        "quote_id": "pq_test_1",
        "partner_order_id": "order_1",
        "destination": "0xabc",
    }

"""Pools, quotes, trades, capabilities and balances over HTTP: one test per route and rule.

Goal: the trading half of API.md behaves as written: ``GET /v1/pools``; firm quotes that move no
money and refuse amounts, currencies and pools by their stable codes; executions that need an
Idempotency-Key and replay byte for byte (refusals included, with the original request id);
quotes that execute once and expire; the lifecycle actions with their roles, their
``invalid_transition`` refusals and the entries they post; trade listing and reading;
capabilities that only allow execution once funded; the ``low`` and ``pending`` balance fields.

Method: TestClient over ``create_app(module_dep)`` on SQLite and PostgreSQL (one database of
each kind per module, a fresh partner per test; see conftest.py), driven through
``support.Http`` exactly as a partner backend and an operator would. Quote expiry is
reached by moving the API's clock (``zeropools.api.deps.utc_now``) past ``expires_at``, and at
the service layer with a ``Ctx`` whose ``now`` sits exactly on the boundary. Every refusal is
checked to have changed nothing in the ledger.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from support import Http, assert_problem, assert_request_id, server_ctx
from zeropools.domain import clock
from zeropools.domain.clock import from_rfc3339
from zeropools.domain.errors import QuoteExpired
from zeropools.services import trading
from zeropools.services.context import Deployment
from zeropools.services.verify import verify


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the API's clock forward (the quote TTL is 30 s; nobody waits for it)."""
    monkeypatch.setattr(
        "zeropools.api.deps.utc_now", lambda: clock.utc_now() + timedelta(seconds=seconds)
    )


# -- pools ---------------------------------------------------------------------------------


def test_pools_list_each_pair_with_its_limits_as_decimal_strings(http: Http) -> None:
    partner = http.partner()

    response = http.client.get("/v1/pools", headers=partner.server)

    assert response.status_code == 200
    assert_request_id(response)
    body = response.json()
    assert (body["object"], body["has_more"]) == ("list", False)
    pools = {p["id"]: p for p in body["data"]}
    assert {"EUR-USDT", "EUR-USDC", "USD-USDT"} <= set(pools)
    eur_usdt = pools["EUR-USDT"]
    assert eur_usdt["object"] == "pool"
    assert (eur_usdt["source_currency"], eur_usdt["target_asset"]) == ("EUR", "USDT")
    assert (eur_usdt["min_amount"], eur_usdt["max_amount"]) == ("10.00", "1000000.00")
    assert eur_usdt["enabled"] is True
    for pool in pools.values():
        assert isinstance(pool["min_amount"], str) and isinstance(pool["max_amount"], str)
    # operators read the same list
    assert http.client.get("/v1/pools", headers=http.operator).json()["data"] == body["data"]


# -- quotes --------------------------------------------------------------------------------


def test_a_quote_is_firm_priced_and_moves_no_money(http: Http) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    entries_before, balance_before = http.entries(partner), http.balance(partner)

    response = http.client.post(
        "/v1/quotes",
        json={"pool_id": "EUR-USDT", "source_amount": "100", "partner_order_id": "order-7"},
        headers=partner.server,
    )

    assert response.status_code == 201, response.text
    assert_request_id(response)
    quote = response.json()
    assert quote["id"].startswith("pq_test_")
    assert quote["object"] == "quote"
    assert (quote["pool_id"], quote["status"], quote["partner_order_id"]) == (
        "EUR-USDT",
        "open",
        "order-7",
    )
    # 100.00 EUR at 1.0850 with 50 bps: fee 0.50, net 99.50, 107.957500 USDT
    assert (quote["source_amount"], quote["fee"], quote["rate"]) == ("100.00", "0.50", "1.0850")
    assert quote["target_amount"] == "107.957500"
    assert from_rfc3339(quote["expires_at"]) > from_rfc3339(quote["created_at"])
    assert http.entries(partner) == entries_before
    balance_after = http.balance(partner)
    assert {k: v for k, v in balance_after.items() if k != "as_of"} == {
        k: v for k, v in balance_before.items() if k != "as_of"
    }


@pytest.mark.parametrize("amount", ["9.99", "0.01", "1000000.01"])
def test_a_quote_outside_the_pools_limits_is_amount_out_of_range(http: Http, amount: str) -> None:
    partner = http.partner()

    response = http.client.post(
        "/v1/quotes", json={"pool_id": "EUR-USDT", "source_amount": amount}, headers=partner.server
    )

    body = assert_problem(response, 422, "amount_out_of_range")
    assert (body["min_amount"], body["max_amount"]) == ("10.00", "1000000.00")
    assert body["pool_id"] == "EUR-USDT"


def test_a_quote_on_exactly_the_pools_limits_is_given(http: Http) -> None:
    partner = http.partner()
    for amount in ("10.00", "1000000.00"):
        assert http.quote(partner, amount)["source_amount"] == amount


def test_a_quote_on_a_pool_whose_currency_the_partner_lacks_is_currency_not_enabled(
    http: Http,
) -> None:
    partner = http.partner(currencies=["EUR"])

    response = http.client.post(
        "/v1/quotes",
        json={"pool_id": "USD-USDT", "source_amount": "100.00"},
        headers=partner.server,
    )

    body = assert_problem(response, 422, "currency_not_enabled")
    assert body["currency"] == "USD"


def test_a_quote_on_an_unknown_pool_is_not_found(http: Http) -> None:
    partner = http.partner()

    response = http.client.post(
        "/v1/quotes",
        json={"pool_id": "EUR-DOGE", "source_amount": "100.00"},
        headers=partner.server,
    )

    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (100, "amount_invalid"),
        (100.5, "amount_invalid"),
        ("1e2", "amount_invalid"),
        ("-100.00", "amount_invalid"),
        (" 100.00", "amount_invalid"),
        ("100.001", "amount_precision_exceeded"),
    ],
)
def test_a_quote_amount_that_is_not_a_plain_decimal_string_is_refused(
    http: Http, amount: Any, code: str
) -> None:
    partner = http.partner()

    response = http.client.post(
        "/v1/quotes", json={"pool_id": "EUR-USDT", "source_amount": amount}, headers=partner.server
    )

    assert_problem(response, 422, code)


def test_operators_quote_for_the_partner_they_name(http: Http) -> None:
    # API.md: operators may do everything; partner-scoped calls name the partner
    body = {"pool_id": "EUR-USDT", "source_amount": "100.00"}
    unnamed = http.client.post("/v1/quotes", json=body, headers=http.operator)
    assert_problem(unnamed, 422, "validation_error")
    partner = http.partner()
    named = http.client.post(
        f"/v1/quotes?partner_id={partner.id}", json=body, headers=http.operator
    )
    assert named.status_code == 201, named.text
    assert named.json()["partner_id"] == partner.id


def test_a_quote_reads_back_open_then_used_and_is_not_found_for_another_partner(
    http: Http,
) -> None:
    partner, other = http.partner(), http.partner(name="Other")
    http.fund(partner, "1000.00")
    quote = http.quote(partner, "100.00")

    read = http.client.get(f"/v1/quotes/{quote['id']}", headers=partner.admin)
    assert read.status_code == 200
    assert read.json() == quote

    assert http.execute(partner, quote["id"]).status_code == 201
    used = http.client.get(f"/v1/quotes/{quote['id']}", headers=partner.server).json()
    assert used["status"] == "used"
    assert {k: v for k, v in used.items() if k != "status"} == {
        k: v for k, v in quote.items() if k != "status"
    }
    assert http.client.get(f"/v1/quotes/{quote['id']}", headers=http.operator).status_code == 200

    foreign = assert_problem(
        http.client.get(f"/v1/quotes/{quote['id']}", headers=other.server), 404, "not_found"
    )
    unknown = assert_problem(
        http.client.get("/v1/quotes/pq_test_00000000000000000000000000", headers=other.server),
        404,
        "not_found",
    )
    assert foreign["title"] == unknown["title"]
    assert set(foreign) == set(unknown)


def test_an_unused_quote_reads_back_expired_once_its_ttl_has_passed(
    http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner = http.partner()
    quote = http.quote(partner, "100.00")
    ttl = from_rfc3339(quote["expires_at"]) - from_rfc3339(quote["created_at"])

    _later(monkeypatch, ttl.total_seconds() + 1)

    read = http.client.get(f"/v1/quotes/{quote['id']}", headers=partner.server)
    assert read.json()["status"] == "expired"


# -- executing -----------------------------------------------------------------------------


def test_executing_without_an_idempotency_key_is_refused_and_moves_nothing(http: Http) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    quote = http.quote(partner, "100.00")
    before = http.entries(partner)

    for headers in (partner.server, {**partner.server, "Idempotency-Key": ""}):
        response = http.client.post(
            "/v1/trades", json={"quote_id": quote["id"], "partner_order_id": "o1"}, headers=headers
        )
        assert_problem(response, 400, "idempotency_key_required")

    assert http.entries(partner) == before
    read = http.client.get(f"/v1/quotes/{quote['id']}", headers=partner.server)
    assert read.json()["status"] == "open"


def test_an_idempotency_key_of_256_characters_or_with_a_control_character_is_invalid(
    http: Http,
) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    quote = http.quote(partner, "100.00")
    body = {"quote_id": quote["id"], "partner_order_id": "o1"}

    too_long = http.client.post(
        "/v1/trades", json=body, headers={**partner.server, "Idempotency-Key": "k" * 256}
    )
    control = http.client.post(
        "/v1/trades", json=body, headers={**partner.server, "Idempotency-Key": "k\x7fk"}
    )
    longest = http.client.post(
        "/v1/trades", json=body, headers={**partner.server, "Idempotency-Key": "k" * 255}
    )

    problem = assert_problem(too_long, 400, "idempotency_key_invalid")
    assert (problem["length"], problem["length_max"]) == (256, 255), problem
    assert "256 characters" in problem["detail"], problem
    assert_problem(control, 400, "idempotency_key_invalid")
    assert longest.status_code == 201, longest.text


def test_a_partner_admin_key_may_execute_too(http: Http) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")

    response = http.execute(partner, http.quote(partner, "100.00")["id"], headers=partner.admin)

    assert response.status_code == 201, response.text
    assert response.json()["partner_id"] == partner.id


def test_an_execution_answers_201_with_the_trade_and_its_debit(http: Http) -> None:
    partner = http.partner(balance_model="debit")
    http.fund(partner, "1000.00")
    quote = http.quote(partner, "100.00")

    response = http.execute(partner, quote["id"], "order-42")

    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    trade = response.json()
    assert trade["id"].startswith("pt_test_")
    assert trade["object"] == "trade"
    assert (trade["quote_id"], trade["pool_id"], trade["partner_order_id"]) == (
        quote["id"],
        "EUR-USDT",
        "order-42",
    )
    assert (trade["status"], trade["source_amount"], trade["currency"]) == (
        "debited",
        "100.00",
        "EUR",
    )
    assert (trade["target_amount"], trade["asset"]) == (quote["target_amount"], "USDT")
    [debit] = http.entries(partner, type="buy_debit")
    assert trade["ledger_entry_ids"] == [debit["id"]]
    assert http.balance(partner)["available"] == "900.00"


def test_an_exact_replay_answers_the_first_response_byte_for_byte(http: Http) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    quote = http.quote(partner, "100.00")
    first = http.execute(partner, quote["id"], "o1", key="key-1")
    assert first.status_code == 201

    replay = http.execute(partner, quote["id"], "o1", key="key-1")

    assert replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert assert_request_id(replay) == assert_request_id(first)
    assert replay.headers["content-type"] == first.headers["content-type"]
    assert len(http.entries(partner, type="buy_debit")) == 1
    assert http.balance(partner)["available"] == "900.00"


@pytest.mark.parametrize(
    ("changed", "differences"),
    [
        ({"partner_order_id": "o2"}, ["partner_order_id"]),
        ({"quote_id": "other"}, ["quote_id"]),
        ({"quote_id": "other", "partner_order_id": "o2"}, ["partner_order_id", "quote_id"]),
        ({"destination": "0xwallet"}, ["destination"]),
    ],
)
def test_the_same_key_with_a_different_body_is_idempotency_key_reused(
    http: Http, changed: dict[str, str], differences: list[str]
) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    quote, other = http.quote(partner, "100.00"), http.quote(partner, "200.00")
    body = {"quote_id": quote["id"], "partner_order_id": "o1"}
    headers = {**partner.server, "Idempotency-Key": "key-1"}
    assert http.client.post("/v1/trades", json=body, headers=headers).status_code == 201
    before = http.entries(partner)

    changed = {k: other["id"] if v == "other" else v for k, v in changed.items()}
    response = http.client.post("/v1/trades", json={**body, **changed}, headers=headers)

    reused = assert_problem(response, 422, "idempotency_key_reused")
    assert reused["differences"] == differences
    assert "idempotent-replayed" not in response.headers
    assert http.entries(partner) == before


def test_idempotency_keys_are_scoped_to_the_partner(http: Http) -> None:
    first, second = http.partner(), http.partner(name="Second")
    for partner in (first, second):
        http.fund(partner, "1000.00")

    responses = [
        http.execute(p, http.quote(p, "100.00")["id"], "o1", key="same") for p in (first, second)
    ]

    assert [r.status_code for r in responses] == [201, 201]
    assert "idempotent-replayed" not in responses[1].headers
    assert responses[0].json()["partner_id"] == first.id
    assert responses[1].json()["partner_id"] == second.id


def test_a_key_refused_for_insufficient_balance_stays_refused_after_funding(
    http: Http, module_dep: Deployment
) -> None:
    partner = http.partner()
    http.fund(partner, "100.00")
    quote = http.quote(partner, "500.00")

    refused = http.execute(partner, quote["id"], "o1", key="key-1")

    body = assert_problem(refused, 409, "insufficient_balance")
    assert (body["currency"], body["requested"], body["available"], body["shortfall"]) == (
        "EUR",
        "500.00",
        "100.00",
        "400.00",
    )
    assert [e["type"] for e in http.entries(partner)] == ["payin_credit"]

    http.fund(partner, "1000.00")
    replay = http.execute(partner, quote["id"], "o1", key="key-1")

    assert replay.status_code == 409
    assert replay.content == refused.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert assert_request_id(replay) == assert_request_id(refused) == body["request_id"]
    assert http.balance(partner)["available"] == "1100.00"
    # the refusal did not spend the quote: a new key may execute it now
    retried = http.execute(partner, quote["id"], "o1", key="key-2")
    assert retried.status_code == 201, retried.text
    assert http.balance(partner)["available"] == "600.00"
    assert verify(module_dep.store).ok


def test_a_quote_executes_only_once(http: Http) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    quote = http.quote(partner, "100.00")
    assert http.execute(partner, quote["id"], "o1", key="key-1").status_code == 201

    again = http.execute(partner, quote["id"], "o2", key="key-2")

    body = assert_problem(again, 409, "quote_already_used")
    assert body["quote_id"] == quote["id"]
    assert len(http.entries(partner, type="buy_debit")) == 1


def test_an_expired_quote_is_refused_with_quote_expired(
    http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    quote = http.quote(partner, "100.00")
    ttl = from_rfc3339(quote["expires_at"]) - from_rfc3339(quote["created_at"])

    _later(monkeypatch, ttl.total_seconds() + 1)
    response = http.execute(partner, quote["id"], "o1")

    body = assert_problem(response, 409, "quote_expired")
    assert body["quote_id"] == quote["id"]
    assert from_rfc3339(body["expires_at"]) == from_rfc3339(quote["expires_at"])
    assert [e["type"] for e in http.entries(partner)] == ["payin_credit"]


def test_a_quote_is_firm_until_just_before_expires_at_and_gone_at_that_instant(
    http: Http, module_dep: Deployment
) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    late, in_time = http.quote(partner, "100.00"), http.quote(partner, "100.00")
    expires_at = from_rfc3339(late["expires_at"])

    with pytest.raises(QuoteExpired):
        trading.execute_trade(
            module_dep,
            server_ctx(partner.id, now=expires_at),
            quote_id=late["id"],
            partner_order_id="o1",
        )
    just_before = from_rfc3339(in_time["expires_at"]) - timedelta(microseconds=1)
    view = trading.execute_trade(
        module_dep,
        server_ctx(partner.id, now=just_before),
        quote_id=in_time["id"],
        partner_order_id="o2",
    )

    assert view.trade.status == "debited"
    assert http.balance(partner)["available"] == "900.00"


def test_executing_another_partners_quote_is_not_found(http: Http) -> None:
    owner, thief = http.partner(), http.partner(name="Thief")
    for partner in (owner, thief):
        http.fund(partner, "1000.00")
    quote = http.quote(owner, "100.00")

    stolen = assert_problem(http.execute(thief, quote["id"], "o1"), 404, "not_found")
    unknown = assert_problem(
        http.execute(thief, "pq_test_00000000000000000000000000", "o1"), 404, "not_found"
    )

    assert set(stolen) == set(unknown)
    assert [e["type"] for e in http.entries(thief)] == ["payin_credit"]
    assert [e["type"] for e in http.entries(owner)] == ["payin_credit"]
    # the owner can still execute it
    assert http.execute(owner, quote["id"], "o1").status_code == 201


def test_operators_may_execute_a_partners_quote_and_refusals_stay_final(http: Http) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    quote = http.quote(partner, "100.00")

    response = http.execute(partner, quote["id"], "o1", key="op-key", headers=http.operator)

    assert response.status_code == 201, response.text
    assert [e["type"] for e in http.entries(partner)] == ["payin_credit", "buy_debit"]
    # a refusal is final for its key: the replay answers the same 404, never "in use"
    missing = http.execute(partner, "pq_test_missing", "o2", key="op-key-2", headers=http.operator)
    assert_problem(missing, 404, "not_found")
    replay = http.execute(partner, "pq_test_missing", "o2", key="op-key-2", headers=http.operator)
    assert replay.status_code == 404
    assert replay.content == missing.content


# -- lifecycle -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body"),
    [("settle", None), ("fail", {"reason": "venue rejected"}), ("return", {"reason": "bounced"})],
)
def test_settle_fail_and_return_are_operator_actions(
    http: Http, action: str, body: dict[str, str] | None
) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")
    before = http.entries(partner)

    for headers in (partner.server, partner.admin):
        assert_problem(http.move(headers, trade["id"], action, body), 403, "forbidden")

    read = http.client.get(f"/v1/trades/{trade['id']}", headers=partner.server).json()
    assert read["status"] == "debited"
    assert http.entries(partner) == before


@pytest.mark.parametrize("model", ["debit", "reserve"])
def test_a_partner_releases_its_own_open_trade(http: Http, model: str) -> None:
    partner, other = (
        http.partner(balance_model=model),
        http.partner(balance_model=model, name="Other"),
    )
    http.fund(partner, "1000.00")
    by_server, by_admin = http.trade(partner, "100.00"), http.trade(partner, "200.00")

    assert_problem(http.move(other.server, by_server["id"], "release"), 404, "not_found")
    released = [
        http.move(partner.server, by_server["id"], "release"),
        http.move(partner.admin, by_admin["id"], "release", {"reason": "user cancelled"}),
    ]

    for response in released:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "released"
    unwinds = http.entries(partner, type="buy_refund" if model == "debit" else "trade_release")
    opens = http.entries(partner, type="buy_debit" if model == "debit" else "trade_reserve")
    assert [e["related_entry_id"] for e in unwinds] == [e["id"] for e in opens]
    balance = http.balance(partner)
    assert (balance["available"], balance["reserved"], balance["pending"]) == (
        "1000.00",
        "0.00",
        "0.00",
    )


def test_invalid_transitions_are_refused_naming_from_and_to_status(
    http: Http, module_dep: Deployment
) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    released, settled, returned = (http.trade(partner, "100.00") for _ in range(3))
    assert http.move(partner.server, released["id"], "release").status_code == 200
    assert http.move(http.operator, settled["id"], "settle").status_code == 200
    assert http.move(http.operator, returned["id"], "settle").status_code == 200
    assert http.move(http.operator, returned["id"], "return", {"reason": "r"}).status_code == 200
    before, balance = http.entries(partner), http.balance(partner)["available"]

    cases = [
        (http.operator, released["id"], "settle", None, "released", "settled"),
        (partner.server, settled["id"], "release", None, "settled", "released"),
        (http.operator, returned["id"], "fail", {"reason": "late"}, "returned", "failed"),
        (http.operator, released["id"], "release", None, "released", "released"),
        (http.operator, settled["id"], "settle", None, "settled", "settled"),
        (http.operator, released["id"], "return", {"reason": "r"}, "released", "returned"),
    ]
    for headers, trade_id, action, body, from_status, to_status in cases:
        refused = assert_problem(
            http.move(headers, trade_id, action, body), 409, "invalid_transition"
        )
        assert (refused["from_status"], refused["to_status"]) == (from_status, to_status)

    assert http.entries(partner) == before
    assert http.balance(partner)["available"] == balance
    assert verify(module_dep.store).ok


@pytest.mark.parametrize(
    ("model", "unwound_type"), [("debit", "buy_debit"), ("reserve", "trade_settle")]
)
def test_returning_a_settled_trade_posts_buy_return_linked_to_what_it_unwinds(
    http: Http, module_dep: Deployment, model: str, unwound_type: str
) -> None:
    partner = http.partner(balance_model=model)
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00", "order-r")
    assert http.move(http.operator, trade["id"], "settle").status_code == 200
    assert http.balance(partner)["total"] == "900.00"

    returned = http.move(http.operator, trade["id"], "return", {"reason": "venue sent it back"})

    assert returned.status_code == 200, returned.text
    body = returned.json()
    assert (body["status"], body["failure_reason"]) == ("returned", "venue sent it back")
    [unwound] = http.entries(partner, type=unwound_type)
    [posted] = http.entries(partner, type="buy_return")
    assert (posted["amount"], posted["related_entry_id"]) == ("100.00", unwound["id"])
    assert (posted["trade_id"], posted["partner_order_id"]) == (trade["id"], "order-r")
    assert posted["request_id"] == assert_request_id(returned)
    assert body["ledger_entry_ids"][-1] == posted["id"]
    balance = http.balance(partner)
    assert (balance["available"], balance["reserved"], balance["pending"]) == (
        "1000.00",
        "0.00",
        "0.00",
    )
    assert verify(module_dep.store).ok


def test_failing_a_reserved_trade_releases_the_reservation_linked_to_it(http: Http) -> None:
    partner = http.partner(balance_model="reserve")
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")

    failed = http.move(http.operator, trade["id"], "fail", {"reason": "venue down"})

    assert failed.status_code == 200, failed.text
    assert (failed.json()["status"], failed.json()["failure_reason"]) == ("failed", "venue down")
    [reserve] = http.entries(partner, type="trade_reserve")
    [release] = http.entries(partner, type="trade_release")
    assert (release["amount"], release["related_entry_id"]) == ("100.00", reserve["id"])
    assert (release["available_after"], release["reserved_after"]) == ("1000.00", "0.00")


@pytest.mark.parametrize("action", ["fail", "return"])
@pytest.mark.parametrize("body", [None, {}, {"reason": ""}])
def test_fail_and_return_without_a_reason_are_refused(
    http: Http, action: str, body: dict[str, str] | None
) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")
    if action == "return":
        assert http.move(http.operator, trade["id"], "settle").status_code == 200
    before = http.entries(partner)

    response = http.move(http.operator, trade["id"], action, body)

    if body is None:
        # no body at all is not JSON (API.md: 400 malformed_json), and says so
        assert "empty" in assert_problem(response, 400, "malformed_json")["detail"]
    else:
        assert assert_problem(response, 422, "validation_error")["errors"]
    assert http.entries(partner) == before


def test_lifecycle_actions_need_an_idempotency_key_and_replay(http: Http) -> None:
    partner = http.partner()
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")
    no_key = http.client.post(f"/v1/trades/{trade['id']}/settle", headers=http.operator)
    assert_problem(no_key, 400, "idempotency_key_required")

    first = http.move(http.operator, trade["id"], "settle", {"tx_hash": "0x1"}, key="s-1")
    replay = http.move(http.operator, trade["id"], "settle", {"tx_hash": "0x1"}, key="s-1")

    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert assert_request_id(replay) == assert_request_id(first)
    other = http.move(http.operator, trade["id"], "settle", {"tx_hash": "0x2"}, key="s-1")
    assert assert_problem(other, 422, "idempotency_key_reused")["differences"] == ["tx_hash"]


# -- reading trades ------------------------------------------------------------------------


def test_trades_list_newest_first_with_filters_and_pages(http: Http) -> None:
    partner, other = http.partner(), http.partner(name="Other")
    for p in (partner, other):
        http.fund(p, "1000.00")
    oldest = http.trade(partner, "10.00", "order-a")
    middle = http.trade(partner, "20.00", "order-b")
    # released first: an order with an open trade is not executed again (order_already_executed)
    assert http.move(partner.server, middle["id"], "release").status_code == 200
    newest = http.trade(partner, "30.00", "order-b")
    http.trade(other, "40.00", "order-b")

    def ids(params: dict[str, str]) -> tuple[list[str], bool]:
        response = http.client.get("/v1/trades", params=params, headers=partner.server)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list"
        return [t["id"] for t in body["data"]], body["has_more"]

    assert ids({}) == ([newest["id"], middle["id"], oldest["id"]], False)
    assert ids({"partner_order_id": "order-b"}) == ([newest["id"], middle["id"]], False)
    assert ids({"status": "released"}) == ([middle["id"]], False)
    assert ids({"status": "debited", "partner_order_id": "order-b"}) == ([newest["id"]], False)
    assert ids({"limit": "2"}) == ([newest["id"], middle["id"]], True)
    assert ids({"limit": "2", "starting_after": middle["id"]}) == ([oldest["id"]], False)
    assert_problem(
        http.client.get("/v1/trades", params={"status": "lost"}, headers=partner.server),
        422,
        "validation_error",
    )
    listed = http.client.get(
        "/v1/trades", params={"partner_id": partner.id}, headers=http.operator
    ).json()
    assert [t["id"] for t in listed["data"]] == [newest["id"], middle["id"], oldest["id"]]


def test_a_trade_reads_back_with_its_ledger_entry_ids(http: Http) -> None:
    partner, other = http.partner(balance_model="reserve"), http.partner(name="Other")
    http.fund(partner, "1000.00")
    trade = http.trade(partner, "100.00")
    assert http.move(http.operator, trade["id"], "settle").status_code == 200

    read = http.client.get(f"/v1/trades/{trade['id']}", headers=partner.server)

    assert read.status_code == 200
    body = read.json()
    assert body["status"] == "settled"
    by_trade = http.entries(partner, trade_id=trade["id"])
    assert body["ledger_entry_ids"] == [e["id"] for e in by_trade]
    assert [e["type"] for e in by_trade] == ["trade_reserve", "trade_settle"]
    assert http.client.get(f"/v1/trades/{trade['id']}", headers=http.operator).json() == body
    assert_problem(
        http.client.get(f"/v1/trades/{trade['id']}", headers=other.server), 404, "not_found"
    )


# -- capabilities and balances -------------------------------------------------------------


def test_capabilities_allow_execution_only_once_a_currency_is_funded(http: Http) -> None:
    partner = http.partner(balance_model="reserve")

    before = http.client.get("/v1/capabilities", headers=partner.server).json()
    http.fund(partner, "100.00")
    after = http.client.get("/v1/capabilities", headers=partner.server).json()

    assert before["partner_id"] == partner.id
    assert (before["mode"], before["balance_model"], before["currencies"]) == (
        "test",
        "reserve",
        ["EUR"],
    )
    assert {p["source_currency"] for p in before["pools"]} == {"EUR"}
    assert before["actions"]["create_quote"] is True
    assert before["actions"]["execute"] is False
    assert after["actions"]["execute"] is True
    assert_problem(
        http.client.get("/v1/capabilities", headers=http.operator), 422, "validation_error"
    )
    as_operator = http.client.get(
        "/v1/capabilities", params={"partner_id": partner.id}, headers=http.operator
    )
    assert as_operator.status_code == 200
    assert as_operator.json()["actions"] == after["actions"]


def test_the_balance_turns_low_when_a_trade_takes_available_below_the_threshold(
    http: Http,
) -> None:
    partner = http.partner(low_balance_threshold={"EUR": "500.00"})
    http.fund(partner, "1000.00")
    assert http.balance(partner)["low"] is False

    http.trade(partner, "500.00")
    at_threshold = http.balance(partner)
    http.trade(partner, "10.00")
    below = http.balance(partner)

    assert (at_threshold["available"], at_threshold["low"]) == ("500.00", False)
    assert (below["available"], below["low_balance_threshold"], below["low"]) == (
        "490.00",
        "500.00",
        True,
    )


@pytest.mark.parametrize("model", ["debit", "reserve"])
def test_pending_counts_open_trades_and_drops_when_they_settle_or_release(
    http: Http, model: str
) -> None:
    partner = http.partner(balance_model=model)
    http.fund(partner, "1000.00")
    small, large = http.trade(partner, "100.00"), http.trade(partner, "250.00")
    assert http.balance(partner)["pending"] == "350.00"

    assert http.move(http.operator, small["id"], "settle").status_code == 200
    assert http.balance(partner)["pending"] == "250.00"
    assert http.move(partner.server, large["id"], "release").status_code == 200
    balance = http.balance(partner)

    assert (balance["pending"], balance["available"], balance["reserved"]) == (
        "0.00",
        "900.00",
        "0.00",
    )

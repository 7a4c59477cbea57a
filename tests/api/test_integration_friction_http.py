"""What a partner's engineer trips on first, over HTTP on SQLite and PostgreSQL.

Goal: the friction an acceptance audit found stays fixed: `curl -d` bodies (form content type)
are read as JSON, an empty body is `malformed_json`, a wrong-mode key is told the mode,
operators can quote and trade for a partner, a trade's order id must match its quote's, and a
refused recall is findable with `?flagged=true`. Method: real requests through the TestClient
fixtures of this directory; every refusal is checked as a full problem document.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient

from support import HttpPartner, assert_problem, bearer

MakePartner = Callable[..., HttpPartner]  # the make_partner fixture of tests/api/conftest.py
Credit = Callable[..., httpx.Response]  # the credit fixture


def test_a_json_body_sent_with_a_form_content_type_is_read_as_json(
    client: TestClient, operator: dict[str, str]
) -> None:
    headers = {**operator, "Content-Type": "application/x-www-form-urlencoded"}
    body = b'{"name": "Form Sender", "balance_model": "debit", "currencies": ["EUR"]}'
    response = client.post("/v1/partners", content=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Form Sender"


def test_an_empty_body_is_malformed_json(client: TestClient, operator: dict[str, str]) -> None:
    response = client.post("/v1/payins", content=b"", headers=operator)
    problem = assert_problem(response, 400, "malformed_json")
    assert "empty" in problem["detail"]


def test_a_key_of_the_other_mode_is_told_which_mode_this_deployment_is(
    client: TestClient,
) -> None:
    response = client.get("/v1/balances", headers=bearer("zpk_live_" + "a" * 40))
    problem = assert_problem(response, 401, "unauthenticated")
    assert "zpk_test_" in problem["detail"]


def test_an_operator_quotes_and_executes_for_a_named_partner(
    client: TestClient, operator: dict[str, str], make_partner: MakePartner, credit: Credit
) -> None:
    partner: HttpPartner = make_partner()
    assert credit(partner.eur, "500.00").status_code == 201
    quote = client.post(
        f"/v1/quotes?partner_id={partner.id}",
        json={"pool_id": "EUR-USDT", "source_amount": "100.00"},
        headers=operator,
    )
    assert quote.status_code == 201, quote.text
    trade = client.post(
        "/v1/trades",
        json={"quote_id": quote.json()["id"], "partner_order_id": "ops-1"},
        headers={**operator, "Idempotency-Key": "ops-trade-1"},
    )
    assert trade.status_code == 201, trade.text
    assert trade.json()["partner_id"] == partner.id
    balance = client.get("/v1/balances/EUR", headers=partner.server)
    assert balance.json()["available"] == "400.00"


def test_a_trade_must_carry_the_order_id_its_quote_was_made_for(
    client: TestClient, make_partner: MakePartner, credit: Credit
) -> None:
    partner = make_partner()
    assert credit(partner.eur, "500.00").status_code == 201
    server = partner.server
    quote = client.post(
        "/v1/quotes",
        json={"pool_id": "EUR-USDT", "source_amount": "100.00", "partner_order_id": "po-A"},
        headers=server,
    ).json()
    wrong = client.post(
        "/v1/trades",
        json={"quote_id": quote["id"], "partner_order_id": "po-B"},
        headers={**server, "Idempotency-Key": "mismatch"},
    )
    problem = assert_problem(wrong, 422, "validation_error")
    assert problem["errors"][0]["field"] == "partner_order_id"
    right = client.post(
        "/v1/trades",
        json={"quote_id": quote["id"], "partner_order_id": "po-A"},
        headers={**server, "Idempotency-Key": "match"},
    )
    assert right.status_code == 201, right.text


def test_a_recall_of_spent_money_is_refused_explained_and_flagged(
    client: TestClient, operator: dict[str, str], make_partner: MakePartner, credit: Credit
) -> None:
    partner = make_partner()
    payin = credit(partner.eur, "100.00").json()
    server = partner.server
    quote = client.post(
        "/v1/quotes", json={"pool_id": "EUR-USDT", "source_amount": "80.00"}, headers=server
    ).json()
    spent = client.post(
        "/v1/trades",
        json={"quote_id": quote["id"], "partner_order_id": "spend"},
        headers={**server, "Idempotency-Key": "spend"},
    )
    assert spent.status_code == 201
    assert client.get("/v1/payins?flagged=true", headers=operator).json()["data"] == []

    recall = client.post(
        f"/v1/payins/{payin['id']}/return",
        json={"reason": "bank recall"},
        headers={**operator, "Idempotency-Key": "recall"},
    )
    problem = assert_problem(recall, 409, "insufficient_balance")
    assert "recall" in problem["detail"] and problem["shortfall"] == "80.00"
    flagged = client.get("/v1/payins?flagged=true", headers=operator).json()["data"]
    assert [(p["id"], p["status"], p["flagged"]) for p in flagged] == [
        (payin["id"], "credited", True)
    ]
    unflagged = client.get("/v1/payins?flagged=false", headers=operator).json()["data"]
    assert payin["id"] not in [p["id"] for p in unflagged]


def test_ledger_filters_refuse_values_that_can_never_match(
    client: TestClient, make_partner: MakePartner
) -> None:
    server = make_partner().server
    for query, field in (("type=bogus", "type"), ("currency=usd", "currency")):
        response = client.get(f"/v1/ledger-entries?{query}", headers=server)
        assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == field
    assert client.get("/v1/ledger-entries?type=adjustment", headers=server).status_code == 200


def test_a_partners_keys_are_listed_without_secrets_for_its_admin_and_the_operator(
    client: TestClient, operator: dict[str, str], make_partner: MakePartner
) -> None:
    partner, other = make_partner(), make_partner(name="Other")
    path = f"/v1/partners/{partner.id}/api-keys"
    listed = client.get(path, headers=operator)
    assert listed.status_code == 200, listed.text
    keys = listed.json()["data"]
    assert {k["id"] for k in keys} == {partner.admin_key_id, partner.server_key_id}
    assert all("secret" not in k and k["partner_id"] == partner.id for k in keys)
    # the admin's own request marks its key used (last_used_at): compare everything else
    as_admin = client.get(path, headers=partner.admin).json()["data"]
    unused = [{**k, "last_used_at": None} for k in keys]
    assert [{**k, "last_used_at": None} for k in as_admin] == unused
    assert_problem(client.get(path, headers=other.admin), 404, "not_found")
    assert_problem(client.get(path, headers=partner.server), 403, "forbidden")


def test_an_unknown_ledger_cursor_is_not_found_rather_than_an_empty_last_page(
    client: TestClient, make_partner: MakePartner, credit: Credit
) -> None:
    partner, other = make_partner(), make_partner(name="Other")
    assert credit(partner.eur, "10.00").status_code == 201
    assert credit(other.eur, "10.00").status_code == 201
    server = partner.server
    [own] = client.get("/v1/ledger-entries", headers=server).json()["data"]
    after_own = client.get(f"/v1/ledger-entries?starting_after={own['id']}", headers=server)
    assert after_own.json() == {"object": "list", "data": [], "has_more": False}
    [foreign] = client.get("/v1/ledger-entries", headers=other.server).json()["data"]
    for cursor in ("ple_unknown", foreign["id"]):
        response = client.get(f"/v1/ledger-entries?starting_after={cursor}", headers=server)
        assert_problem(response, 404, "not_found")

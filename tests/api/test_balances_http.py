"""Funding instructions, balances and ledger entries over HTTP, as a partner sees them.

Goal: ``GET /v1/funding-instructions``, ``GET /v1/balances``, ``GET /v1/balances/{currency}``,
``GET /v1/ledger-entries`` and ``GET /v1/ledger-entries/{id}`` return the shapes API.md fixes
(decimal strings with the currency's scale, the ``low`` flag, ``sequence`` and ``hash`` on
entries, the request id of the request that caused an entry), scope partner keys to their own
partner (another partner's id is a 404) and make operators name the partner.

Method: TestClient over ``create_app(dep)`` on SQLite and PostgreSQL; money arrives through
``POST /v1/payins`` with the partner's funding reference, exactly as in production.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi.testclient import TestClient
from stdnum import iso11649

from support import HttpPartner, assert_problem, assert_request_id, error_fields
from zeropools.domain.clock import from_rfc3339

BALANCE_FIELDS = {
    "id",
    "object",
    "currency",
    "available",
    "reserved",
    "pending",
    "total",
    "low_balance_threshold",
    "low",
    "as_of",
}
TWO_DECIMALS = re.compile(r"^-?[0-9]+\.[0-9]{2}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def test_funding_instructions_give_each_currency_its_own_rf_reference(
    client: TestClient, operator: dict[str, str], make_partner: Any
) -> None:
    partner: HttpPartner = make_partner(currencies=["EUR", "USD"])
    other: HttpPartner = make_partner(name="Other")

    response = client.get("/v1/funding-instructions", headers=partner.server)

    assert response.status_code == 200
    assert_request_id(response)
    body = response.json()
    assert body["object"] == "list" and body["has_more"] is False
    by_currency = {fi["currency"]: fi for fi in body["data"]}
    assert set(by_currency) == {"EUR", "USD"}
    for fi in by_currency.values():
        assert fi["object"] == "funding_instructions"
        assert iso11649.is_valid(fi["reference"])
        for name in ("iban", "bic", "account_holder", "instructions"):
            assert fi[name], name
        assert fi["reference_printed"].replace(" ", "") == fi["reference"]
        assert fi["reference_printed"] in fi["instructions"]
    assert by_currency["EUR"]["reference"] == partner.eur
    assert by_currency["EUR"]["reference"] != by_currency["USD"]["reference"]
    assert body["data"] == partner.body["funding_instructions"]

    by_operator = client.get(f"/v1/funding-instructions?partner_id={partner.id}", headers=operator)
    assert by_operator.status_code == 200
    assert by_operator.json()["data"] == body["data"]
    unnamed = client.get("/v1/funding-instructions", headers=operator)
    assert "partner_id" in error_fields(assert_problem(unnamed, 422, "validation_error"))
    foreign = client.get(f"/v1/funding-instructions?partner_id={other.id}", headers=partner.admin)
    assert_problem(foreign, 404, "not_found")


def test_balances_show_decimal_strings_and_are_scoped_to_the_partner(
    client: TestClient, operator: dict[str, str], make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner(currencies=["EUR", "USD"])
    other: HttpPartner = make_partner(name="Other")
    assert credit(partner.eur, "1234.5").status_code == 201

    listed = client.get("/v1/balances", headers=partner.server)
    assert listed.status_code == 200
    body = listed.json()
    assert body["object"] == "list" and body["has_more"] is False
    assert {b["currency"] for b in body["data"]} == {"EUR", "USD"}

    one = client.get("/v1/balances/EUR", headers=partner.server)
    assert one.status_code == 200
    balance = one.json()
    assert set(balance) >= BALANCE_FIELDS
    assert balance["object"] == "balance"
    assert balance["currency"] == "EUR"
    assert balance["available"] == "1234.50"
    assert balance["reserved"] == "0.00"
    assert balance["pending"] == "0.00"
    assert balance["total"] == "1234.50"
    assert balance["low_balance_threshold"] is None
    assert balance["low"] is False
    for name in ("available", "reserved", "pending", "total"):
        assert TWO_DECIMALS.fullmatch(balance[name]), (name, balance[name])
    assert from_rfc3339(balance["as_of"]).tzinfo is not None
    assert balance["as_of"].endswith("Z")
    usd = next(b for b in body["data"] if b["currency"] == "USD")
    assert usd["available"] == "0.00"

    unknown = client.get("/v1/balances/JPY", headers=partner.server)
    assert_problem(unknown, 404, "not_found")
    nonsense = client.get("/v1/balances/XYZ", headers=partner.server)
    assert_problem(nonsense, 404, "not_found")

    for path in ("/v1/balances", "/v1/balances/EUR"):
        unnamed = client.get(path, headers=operator)
        assert "partner_id" in error_fields(assert_problem(unnamed, 422, "validation_error"))
        named = client.get(f"{path}?partner_id={partner.id}", headers=operator)
        assert named.status_code == 200, named.text
        foreign = client.get(f"{path}?partner_id={partner.id}", headers=other.admin)
        assert_problem(foreign, 404, "not_found")
        assert_problem(client.get(path), 401, "unauthenticated")
    named_one = client.get(f"/v1/balances/EUR?partner_id={partner.id}", headers=operator).json()
    assert named_one["available"] == "1234.50"
    missing = client.get(
        "/v1/balances/EUR?partner_id=partner_00000000000000000000000000", headers=operator
    )
    assert_problem(missing, 404, "not_found")


def test_the_low_flag_compares_available_with_the_partners_threshold(
    client: TestClient, make_partner: Any, credit: Any
) -> None:
    thin: HttpPartner = make_partner(name="Thin", low_balance_threshold={"EUR": "100.00"})
    rich: HttpPartner = make_partner(name="Rich", low_balance_threshold={"EUR": "100.00"})
    assert credit(thin.eur, "50.00").status_code == 201
    assert credit(rich.eur, "1000.00").status_code == 201

    thin_balance = client.get("/v1/balances/EUR", headers=thin.server).json()
    rich_balance = client.get("/v1/balances/EUR", headers=rich.server).json()

    assert thin_balance["low_balance_threshold"] == "100.00"
    assert thin_balance["available"] == "50.00"
    assert thin_balance["low"] is True
    assert rich_balance["low_balance_threshold"] == "100.00"
    assert rich_balance["available"] == "1000.00"
    assert rich_balance["low"] is False


def test_listing_ledger_entries_filters_and_pages_oldest_first(
    client: TestClient, operator: dict[str, str], make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner(currencies=["EUR", "USD"])
    usd_reference = next(
        fi["reference"] for fi in partner.body["funding_instructions"] if fi["currency"] == "USD"
    )
    assert credit(partner.eur, "10.00").status_code == 201
    time.sleep(0.005)  # a gap between entries' created_at for the time filter
    assert credit(usd_reference, "20.00", "USD").status_code == 201
    assert credit(partner.eur, "30.00").status_code == 201
    headers = partner.admin

    response = client.get("/v1/ledger-entries", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list" and body["has_more"] is False
    entries = body["data"]
    assert [e["sequence"] for e in entries] == [1, 2, 3]
    assert [e["amount"] for e in entries] == ["10.00", "20.00", "30.00"]
    assert [e["available_after"] for e in entries] == ["10.00", "20.00", "40.00"]
    assert all(e["object"] == "ledger_entry" and e["type"] == "payin_credit" for e in entries)

    first = client.get("/v1/ledger-entries?limit=2", headers=headers).json()
    assert [e["sequence"] for e in first["data"]] == [1, 2] and first["has_more"] is True
    after = first["data"][-1]["id"]
    rest = client.get(f"/v1/ledger-entries?limit=2&starting_after={after}", headers=headers).json()
    assert [e["sequence"] for e in rest["data"]] == [3] and rest["has_more"] is False

    eur = client.get("/v1/ledger-entries?currency=EUR", headers=headers).json()["data"]
    assert [e["sequence"] for e in eur] == [1, 3]
    typed = client.get("/v1/ledger-entries?type=payin_credit", headers=headers).json()["data"]
    assert len(typed) == 3
    none = client.get("/v1/ledger-entries?type=buy_debit", headers=headers).json()["data"]
    assert none == []

    second_at = entries[1]["created_at"]
    since = client.get(
        "/v1/ledger-entries", params={"created_gte": second_at}, headers=headers
    ).json()["data"]
    assert [e["sequence"] for e in since] == [2, 3]
    before = client.get(
        "/v1/ledger-entries", params={"created_lt": second_at}, headers=headers
    ).json()["data"]
    assert [e["sequence"] for e in before] == [1]
    with_offset = client.get(
        "/v1/ledger-entries", params={"created_gte": "2000-01-01T01:00:00+01:00"}, headers=headers
    ).json()["data"]
    assert len(with_offset) == 3

    for name in ("created_gte", "created_lt"):
        for bad in ("yesterday", "2026-11-23", "2026-11-23T09:15:00"):
            refused = client.get("/v1/ledger-entries", params={name: bad}, headers=headers)
            assert name in error_fields(assert_problem(refused, 422, "validation_error"))
    for limit in ("0", "1001"):
        refused = client.get(f"/v1/ledger-entries?limit={limit}", headers=headers)
        assert_problem(refused, 422, "validation_error")

    unnamed = client.get("/v1/ledger-entries", headers=operator)
    assert_problem(unnamed, 422, "validation_error")
    named = client.get(f"/v1/ledger-entries?partner_id={partner.id}", headers=operator).json()
    assert named["data"] == entries
    by_server = client.get("/v1/ledger-entries", headers=partner.server).json()
    assert by_server["data"] == entries


def test_reading_a_ledger_entry_links_it_to_the_request_that_caused_it(
    client: TestClient, operator: dict[str, str], make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner()
    other: HttpPartner = make_partner(name="Other")
    posted = credit(partner.eur, "1000.00")
    assert posted.status_code == 201
    payin = posted.json()
    entry_id = payin["ledger_entry_id"]

    response = client.get(f"/v1/ledger-entries/{entry_id}", headers=partner.server)

    assert response.status_code == 200, response.text
    entry = response.json()
    assert entry["id"] == entry_id and entry_id.startswith("ple_")
    assert entry["object"] == "ledger_entry"
    assert entry["type"] == "payin_credit"
    assert entry["currency"] == "EUR"
    assert entry["amount"] == "1000.00"
    assert entry["available_after"] == "1000.00"
    assert entry["reserved_after"] == "0.00"
    assert entry["payin_id"] == payin["id"]
    assert entry["funding_reference"] == partner.eur
    assert entry["sequence"] == 1
    assert HEX64.fullmatch(entry["hash"])
    assert entry["request_id"] == posted.headers["x-request-id"]
    assert entry["request_id"].startswith("req_")
    assert from_rfc3339(entry["created_at"]).tzinfo is not None
    for name in ("trade_id", "quote_id", "related_entry_id", "partner_order_id"):
        assert entry[name] is None, name

    by_operator = client.get(f"/v1/ledger-entries/{entry_id}", headers=operator)
    assert by_operator.status_code == 200
    assert by_operator.json() == entry
    for headers in (other.admin, other.server):
        foreign = client.get(f"/v1/ledger-entries/{entry_id}", headers=headers)
        assert_problem(foreign, 404, "not_found")
    missing = client.get("/v1/ledger-entries/ple_00000000000000000000000000", headers=operator)
    assert_problem(missing, 404, "not_found")


def test_ledger_time_filters_at_the_edges_of_the_calendar_are_refused_not_crashed(
    client: TestClient, make_partner: Any
) -> None:
    # valid RFC 3339 texts whose UTC form falls outside what a datetime can hold
    partner: HttpPartner = make_partner()
    for name, text in (
        ("created_gte", "0001-01-01T00:00:00+01:00"),
        ("created_lt", "9999-12-31T23:59:59-01:00"),
    ):
        response = client.get("/v1/ledger-entries", params={name: text}, headers=partner.admin)
        assert name in error_fields(assert_problem(response, 422, "validation_error"))

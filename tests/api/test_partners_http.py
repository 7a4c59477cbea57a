"""Partners and API keys over HTTP: onboarding, keys shown once, roles, and who gets 401.

Goal: the operator routes (``POST/GET /v1/partners``, ``GET /v1/partners/{id}``,
``POST /v1/partners/{id}/api-keys``, ``DELETE /v1/api-keys/{key_id}``) answer what API.md fixes:
statuses, field names, error codes, RFC 9457 bodies with the request id, and partner isolation
(another partner's id is a 404, a role without permission a 403).

Method: FastAPI's TestClient over ``create_app(dep)`` on SQLite and PostgreSQL, with real keys
(the operator key from the service ``zeropools init`` uses, partner keys from the 201 response).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from stdnum import iso11649

from support import HttpPartner, assert_problem, assert_request_id, bearer, error_fields
from zeropools.domain.partners import new_api_key_secret

VALID = {"name": "Acme Wallet", "balance_model": "debit", "currencies": ["EUR"]}


def test_creating_a_partner_shows_both_keys_once_and_rf_funding_instructions(
    client: TestClient, operator: dict[str, str]
) -> None:
    response = client.post(
        "/v1/partners",
        json={**VALID, "currencies": ["EUR", "USD"], "low_balance_threshold": {"EUR": "100"}},
        headers=operator,
    )

    assert response.status_code == 201, response.text
    assert_request_id(response)
    body = response.json()
    assert body["id"].startswith("partner_")
    assert body["object"] == "partner"
    assert body["name"] == "Acme Wallet"
    assert body["balance_model"] == "debit"
    assert body["currencies"] == ["EUR", "USD"]
    assert body["low_balance_threshold"] == {"EUR": "100.00"}
    assert set(body["api_keys"]) == {"partner_admin", "partner_server"}
    for secret in body["api_keys"].values():
        assert secret.startswith("zpk_test_")
    assert body["api_keys"]["partner_admin"] != body["api_keys"]["partner_server"]
    instructions = {fi["currency"]: fi for fi in body["funding_instructions"]}
    assert set(instructions) == {"EUR", "USD"}
    for fi in instructions.values():
        assert iso11649.is_valid(fi["reference"]), fi["reference"]
        assert fi["reference"].startswith("RF")
        for name in ("iban", "bic", "account_holder", "instructions"):
            assert fi[name], name
        assert fi["partner_id"] == body["id"]
    assert instructions["EUR"]["reference"] != instructions["USD"]["reference"]

    # shown once: reading the partner back never returns a secret
    again = client.get(f"/v1/partners/{body['id']}", headers=operator)
    assert again.status_code == 200
    assert "api_keys" not in again.json()
    for secret in body["api_keys"].values():
        assert secret not in again.text


def test_creating_a_partner_refuses_invalid_bodies_field_by_field(
    client: TestClient, operator: dict[str, str]
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"balance_model": "debit", "currencies": ["EUR"]}, "name"),
        ({**VALID, "balance_model": "overdraft"}, "balance_model"),
        ({**VALID, "currencies": []}, "currencies"),
        ({**VALID, "colour": "blue"}, "colour"),
    ]
    for payload, field in cases:
        response = client.post("/v1/partners", json=payload, headers=operator)
        body = assert_problem(response, 422, "validation_error")
        assert isinstance(body["errors"], list) and body["errors"], body
        for item in body["errors"]:
            assert set(item) >= {"field", "message"}
        assert field in error_fields(body), (payload, body["errors"])

    unknown = client.post("/v1/partners", json={**VALID, "currencies": ["XYZ"]}, headers=operator)
    assert_problem(unknown, 422, "currency_not_enabled")

    # nothing was created by any refused request
    listed = client.get("/v1/partners", headers=operator).json()
    assert listed["data"] == []


def test_creating_a_partner_needs_an_operator_key(
    client: TestClient, operator: dict[str, str], make_partner: Any
) -> None:
    partner: HttpPartner = make_partner()
    for headers in (partner.admin, partner.server):
        forbidden = client.post("/v1/partners", json=VALID, headers=headers)
        assert_problem(forbidden, 403, "forbidden")

    revoked = client.post(
        f"/v1/partners/{partner.id}/api-keys", json={"role": "partner_admin"}, headers=operator
    ).json()
    assert client.delete(f"/v1/api-keys/{revoked['id']}", headers=operator).status_code == 200
    refused_headers: list[dict[str, str]] = [
        {},
        bearer("garbage"),
        bearer("zpk_test_" + "x" * 40),
        bearer(revoked["secret"]),
        bearer(new_api_key_secret("live")),
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ]
    for headers in refused_headers:
        response = client.post("/v1/partners", json=VALID, headers=headers)
        assert_problem(response, 401, "unauthenticated")


def test_listing_partners_is_newest_first_and_paginates(
    client: TestClient, operator: dict[str, str], make_partner: Any
) -> None:
    created = []
    for n in range(3):
        created.append(make_partner(name=f"Partner {n}").id)
        time.sleep(0.002)  # ids are time-ordered to the millisecond
    newest_first = list(reversed(created))

    everything = client.get("/v1/partners", headers=operator)
    assert everything.status_code == 200
    assert_request_id(everything)
    body = everything.json()
    assert body["object"] == "list"
    assert body["has_more"] is False
    assert [p["id"] for p in body["data"]] == newest_first
    assert all(p["object"] == "partner" for p in body["data"])
    assert all("api_keys" not in p for p in body["data"])

    first = client.get("/v1/partners?limit=2", headers=operator).json()
    assert [p["id"] for p in first["data"]] == newest_first[:2]
    assert first["has_more"] is True
    cursor = first["data"][-1]["id"]
    second = client.get(f"/v1/partners?limit=2&starting_after={cursor}", headers=operator).json()
    assert [p["id"] for p in second["data"]] == newest_first[2:]
    assert second["has_more"] is False

    for limit in ("0", "1001", "ten"):
        refused = client.get(f"/v1/partners?limit={limit}", headers=operator)
        body = assert_problem(refused, 422, "validation_error")
        assert "limit" in error_fields(body)

    partner: HttpPartner = make_partner()
    assert_problem(client.get("/v1/partners", headers=partner.admin), 403, "forbidden")
    assert_problem(client.get("/v1/partners"), 401, "unauthenticated")


def test_reading_a_partner_follows_role_and_ownership(
    client: TestClient, operator: dict[str, str], make_partner: Any
) -> None:
    mine: HttpPartner = make_partner(name="Mine")
    other: HttpPartner = make_partner(name="Other")

    by_operator = client.get(f"/v1/partners/{mine.id}", headers=operator)
    assert by_operator.status_code == 200
    body = by_operator.json()
    assert body["id"] == mine.id and body["object"] == "partner" and body["name"] == "Mine"
    assert [fi["reference"] for fi in body["funding_instructions"]] == [mine.eur]

    by_own_admin = client.get(f"/v1/partners/{mine.id}", headers=mine.admin)
    assert by_own_admin.status_code == 200
    assert by_own_admin.json()["id"] == mine.id

    # another partner's id answers exactly like an id that does not exist
    foreign = client.get(f"/v1/partners/{other.id}", headers=mine.admin)
    assert_problem(foreign, 404, "not_found")
    missing = client.get("/v1/partners/partner_00000000000000000000000000", headers=operator)
    assert_problem(missing, 404, "not_found")

    # services.partners.get_partner: a server key may not read partners at all (403)
    for partner_id in (mine.id, other.id):
        by_server = client.get(f"/v1/partners/{partner_id}", headers=mine.server)
        assert_problem(by_server, 403, "forbidden")


def test_issuing_an_api_key_shows_the_secret_once_and_the_key_works(
    client: TestClient, operator: dict[str, str], make_partner: Any
) -> None:
    partner: HttpPartner = make_partner()

    response = client.post(
        f"/v1/partners/{partner.id}/api-keys", json={"role": "partner_admin"}, headers=operator
    )

    assert response.status_code == 201, response.text
    key = response.json()
    assert key["id"].startswith("zpk_")
    assert key["object"] == "api_key"
    assert key["partner_id"] == partner.id
    assert key["role"] == "partner_admin"
    assert key["mode"] == "test"
    assert key["revoked_at"] is None
    assert key["secret"].startswith("zpk_test_")
    assert key["last4"] == key["secret"][-4:]
    works = client.get(f"/v1/partners/{partner.id}", headers=bearer(key["secret"]))
    assert works.status_code == 200

    unknown = client.post(
        "/v1/partners/partner_00000000000000000000000000/api-keys",
        json={"role": "partner_server"},
        headers=operator,
    )
    assert_problem(unknown, 404, "not_found")
    bad_role = client.post(
        f"/v1/partners/{partner.id}/api-keys", json={"role": "operator"}, headers=operator
    )
    assert "role" in error_fields(assert_problem(bad_role, 422, "validation_error"))
    by_partner = client.post(
        f"/v1/partners/{partner.id}/api-keys",
        json={"role": "partner_server"},
        headers=partner.admin,
    )
    assert_problem(by_partner, 403, "forbidden")


def test_revoking_an_api_key_stamps_revoked_at_and_the_key_then_gets_401(
    client: TestClient, operator: dict[str, str], make_partner: Any
) -> None:
    partner: HttpPartner = make_partner()
    assert client.get("/v1/balances", headers=partner.server).status_code == 200

    response = client.delete(f"/v1/api-keys/{partner.server_key_id}", headers=operator)

    assert response.status_code == 200, response.text
    key = response.json()
    assert key["id"] == partner.server_key_id
    assert key["object"] == "api_key"
    assert key["role"] == "partner_server"
    assert key["revoked_at"]
    assert "secret" not in key
    assert_problem(client.get("/v1/balances", headers=partner.server), 401, "unauthenticated")
    # the partner's other key is untouched
    assert client.get("/v1/balances", headers=partner.admin).status_code == 200

    unknown = client.delete("/v1/api-keys/zpk_00000000000000000000000000", headers=operator)
    assert_problem(unknown, 404, "not_found")
    by_partner = client.delete(f"/v1/api-keys/{partner.admin_key_id}", headers=partner.admin)
    assert_problem(by_partner, 403, "forbidden")

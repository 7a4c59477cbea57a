"""Operator adjustments over HTTP, on SQLite and PostgreSQL.

Goal: ``POST /v1/adjustments`` posts a signed ``adjustment`` entry with its reason, never
overdraws ``available``, needs an Idempotency-Key and the operator role, and keeps the ledger
verifiable. Method: a real app over each store through FastAPI's TestClient; balances and
entries are read back through the partner's own key.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from support import HttpPartner, bearer, issue_operator_key, post_partner, post_payin
from zeropools.domain import ids
from zeropools.services.context import Deployment
from zeropools.services.verify import verify


@pytest.fixture
def op(dep: Deployment) -> dict[str, str]:
    return bearer(issue_operator_key(dep).secret)


def _funded_partner(client: TestClient, operator: dict[str, str], amount: str) -> tuple[str, str]:
    """A debit-model EUR partner credited ``amount``; its id and partner_admin key."""
    partner = HttpPartner.from_body(post_partner(client, operator, name="Adjusted"))
    credited = post_payin(client, operator, ids.new_id("bank_"), amount, reference=partner.eur)
    assert credited.status_code == 201, credited.text
    return partner.id, partner.admin_secret


def test_a_negative_and_a_positive_adjustment_post_entries_with_their_reason(
    client: TestClient, op: dict[str, str], dep: Deployment
) -> None:
    partner_id, admin = _funded_partner(client, op, "100.00")
    body = {"partner_id": partner_id, "currency": "EUR", "amount": "-12.00", "reason": "fee"}
    taken = client.post("/v1/adjustments", json=body, headers={**op, "Idempotency-Key": "a1"})
    assert taken.status_code == 201, taken.text
    entry = taken.json()
    assert (entry["type"], entry["amount"], entry["available_after"]) == (
        "adjustment",
        "-12.00",
        "88.00",
    )
    assert entry["reason"] == "fee"
    assert entry["request_id"] == taken.headers["x-request-id"]
    given = client.post(
        "/v1/adjustments",
        json={**body, "amount": "2.50", "reason": "goodwill"},
        headers={**op, "Idempotency-Key": "a2"},
    )
    assert given.json()["available_after"] == "90.50"
    balance = client.get("/v1/balances/EUR", headers={"Authorization": f"Bearer {admin}"})
    assert balance.json()["available"] == "90.50"
    assert verify(dep.store).ok


def test_an_adjustment_that_would_overdraw_is_refused_and_stays_refused(
    client: TestClient, op: dict[str, str]
) -> None:
    partner_id, admin = _funded_partner(client, op, "10.00")
    body = {"partner_id": partner_id, "currency": "EUR", "amount": "-10.01", "reason": "x"}
    headers = {**op, "Idempotency-Key": "over"}
    refused = client.post("/v1/adjustments", json=body, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_balance"
    assert refused.json()["shortfall"] == "0.01"
    replay = client.post("/v1/adjustments", json=body, headers=headers)
    assert (replay.status_code, replay.content) == (409, refused.content)
    assert replay.headers["idempotent-replayed"] == "true"
    entries = client.get("/v1/ledger-entries", headers={"Authorization": f"Bearer {admin}"})
    assert [e["type"] for e in entries.json()["data"]] == ["payin_credit"]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"amount": "0.00"}, 422, "amount_invalid"),
        ({"amount": "1.005"}, 422, "amount_precision_exceeded"),
        ({"amount": -5}, 422, "amount_invalid"),
        ({"currency": "USD"}, 422, "currency_not_enabled"),
        ({"partner_id": "partner_unknown"}, 404, "not_found"),
        ({"reason": ""}, 422, "validation_error"),
    ],
)
def test_bad_adjustments_are_refused_with_their_code(
    client: TestClient,
    op: dict[str, str],
    change: dict[str, object],
    status: int,
    code: str,
) -> None:
    partner_id, _ = _funded_partner(client, op, "10.00")
    body = {"partner_id": partner_id, "currency": "EUR", "amount": "1.00", "reason": "x", **change}
    answer = client.post("/v1/adjustments", json=body, headers={**op, "Idempotency-Key": "b"})
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_adjustments_need_the_operator_and_an_idempotency_key(
    client: TestClient, op: dict[str, str]
) -> None:
    partner_id, admin = _funded_partner(client, op, "10.00")
    body = {"partner_id": partner_id, "currency": "EUR", "amount": "1.00", "reason": "x"}
    missing = client.post("/v1/adjustments", json=body, headers=op)
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_required")
    partner = client.post(
        "/v1/adjustments",
        json=body,
        headers={"Authorization": f"Bearer {admin}", "Idempotency-Key": "p"},
    )
    assert (partner.status_code, partner.json()["code"]) == (403, "forbidden")


def test_a_mistyped_amount_does_not_use_up_the_idempotency_key(
    client: TestClient, op: dict[str, str]
) -> None:
    partner_id, admin = _funded_partner(client, op, "100.00")
    body = {"partner_id": partner_id, "currency": "EUR", "amount": "12,00", "reason": "fee"}
    headers = {**op, "Idempotency-Key": "k"}

    mistyped = client.post("/v1/adjustments", json=body, headers=headers)
    corrected = client.post("/v1/adjustments", json={**body, "amount": "12.00"}, headers=headers)
    again = client.post("/v1/adjustments", json={**body, "amount": "12.00"}, headers=headers)

    assert (mistyped.status_code, mistyped.json()["code"]) == (422, "amount_invalid")
    assert "idempotent-replayed" not in mistyped.headers
    assert corrected.status_code == 201, corrected.text
    assert (again.status_code, again.content) == (201, corrected.content)
    assert again.headers["idempotent-replayed"] == "true"
    balance = client.get("/v1/balances/EUR", headers={"Authorization": f"Bearer {admin}"})
    assert balance.json()["available"] == "112.00"

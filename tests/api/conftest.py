"""Fixtures for the HTTP tests: a TestClient over ``create_app(dep)`` on each store.

Every test that uses ``client`` runs once on SQLite and once on PostgreSQL (through the ``dep``
fixture of ``tests/conftest.py``). Keys are real: the operator key is issued by the service that
``zeropools init`` uses, partner keys come from ``POST /v1/partners`` over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from api_support import PartnerKeys, bearer
from fastapi.testclient import TestClient

from zeropools.api.app import create_app
from zeropools.domain import ids
from zeropools.domain.clock import utc_now
from zeropools.services import partners
from zeropools.services.context import Ctx, Deployment


@pytest.fixture
def client(dep: Deployment) -> Iterator[TestClient]:
    with TestClient(create_app(dep)) as test_client:
        yield test_client


@pytest.fixture
def operator_key(dep: Deployment) -> str:
    ctx = Ctx(request_id=ids.new_id(ids.REQUEST), now=utc_now())
    return partners.new_operator_key(dep, ctx).secret


@pytest.fixture
def operator(operator_key: str) -> dict[str, str]:
    """Authorization headers of the operator."""
    return bearer(operator_key)


MakePartner = Callable[..., PartnerKeys]


@pytest.fixture
def make_partner(client: TestClient, operator: dict[str, str]) -> MakePartner:
    """Create a partner over HTTP (EUR, debit model unless told otherwise)."""

    def make(
        name: str = "Acme Wallet",
        balance_model: str = "debit",
        currencies: list[str] | None = None,
        **extra: Any,
    ) -> PartnerKeys:
        payload = {
            "name": name,
            "balance_model": balance_model,
            "currencies": currencies or ["EUR"],
            **extra,
        }
        response = client.post("/v1/partners", json=payload, headers=operator)
        assert response.status_code == 201, response.text
        body = response.json()
        references = {fi["currency"]: fi["reference"] for fi in body["funding_instructions"]}
        return PartnerKeys(
            id=body["id"],
            admin=body["api_keys"]["partner_admin"],
            server=body["api_keys"]["partner_server"],
            admin_key_id=body["api_key_ids"]["partner_admin"],
            server_key_id=body["api_key_ids"]["partner_server"],
            reference=references.get("EUR", ""),
            body=body,
        )

    return make


Credit = Callable[..., httpx.Response]


@pytest.fixture
def credit(client: TestClient, operator: dict[str, str]) -> Credit:
    """Post a booked bank credit with ``reference`` over HTTP; returns the response."""
    counter = iter(range(1, 10_000))

    def post(
        reference: str | None,
        amount: Any = "1000.00",
        currency: str = "EUR",
        booking_status: str = "booked",
        bank_transaction_id: str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        payload = {
            "bank_transaction_id": bank_transaction_id or f"bank-tx-{next(counter):04d}",
            "amount": amount,
            "currency": currency,
            "booking_status": booking_status,
            "reference": reference,
            **extra,
        }
        return client.post("/v1/payins", json=payload, headers=operator)

    return post

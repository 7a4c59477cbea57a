"""The HTTP side of the tests: the app client, problem-document checks, partner creation.

Everything here goes through an ``httpx.Client`` (a ``TestClient`` over ``create_app`` or a real
connection to a served deployment); the service-layer counterparts are in ``support.builders``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from support.contexts import bearer
from zeropools.api.app import create_app
from zeropools.services.context import Deployment

PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = ("type", "title", "status", "detail", "code", "request_id")


@contextmanager
def app_client(dep: Deployment) -> Iterator[TestClient]:
    """A TestClient over ``create_app(dep)``, started (lifespan run) for the ``with`` block."""
    with TestClient(create_app(dep)) as client:
        yield client


def assert_request_id(response: httpx.Response) -> str:
    """Every response carries ``X-Request-Id: req_...``; return it."""
    request_id: str = response.headers.get("x-request-id", "")
    assert request_id.startswith("req_"), response.headers
    return request_id


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem document with ``status`` and ``code``; returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    for name in PROBLEM_FIELDS:
        assert name in body, (name, body)
    assert body["status"] == status, body
    assert body["code"] == code, body
    assert body["type"] == f"/errors/{code}", body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert body["request_id"] == assert_request_id(response), body
    return body


def post_partner(
    client: httpx.Client,
    operator: Mapping[str, str],
    name: str = "Acme Wallet",
    balance_model: str = "debit",
    currencies: Sequence[str] = ("EUR",),
    **extra: Any,
) -> dict[str, Any]:
    """``POST /v1/partners`` as the operator; checks the 201 and returns its body."""
    payload = {"name": name, "balance_model": balance_model, "currencies": list(currencies)}
    response = client.post("/v1/partners", json={**payload, **extra}, headers=dict(operator))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def post_payin(
    client: httpx.Client,
    headers: Mapping[str, str],
    bank_transaction_id: str,
    amount: Any,
    *,
    currency: str = "EUR",
    booking_status: str = "booked",
    **extra: Any,
) -> httpx.Response:
    """``POST /v1/payins``: a bank credit notification (``reference`` etc. go in ``extra``)."""
    payload = {
        "bank_transaction_id": bank_transaction_id,
        "amount": amount,
        "currency": currency,
        "booking_status": booking_status,
        **extra,
    }
    return client.post("/v1/payins", json=payload, headers=dict(headers))


@dataclass(frozen=True)
class HttpPartner:
    """A partner created over HTTP, with its keys as ready-made Authorization headers."""

    id: str
    admin: dict[str, str]  # Authorization headers of the partner_admin key
    server: dict[str, str]  # Authorization headers of the partner_server key
    references: dict[str, str]  # currency -> funding reference

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> HttpPartner:
        """From the 201 body of ``POST /v1/partners``."""
        return cls(
            id=body["id"],
            admin=bearer(body["api_keys"]["partner_admin"]),
            server=bearer(body["api_keys"]["partner_server"]),
            references={fi["currency"]: fi["reference"] for fi in body["funding_instructions"]},
        )

    @property
    def eur(self) -> str:
        return self.references["EUR"]

"""Fixtures for the HTTP tests: a real operator key and shortcuts over the ``client`` fixture.

``client`` (from ``tests/conftest.py``) is a TestClient over ``create_app(dep)``, so every test
that uses it runs once on SQLite and once on PostgreSQL. Keys are real: the operator key is
issued by the service that ``zeropools init`` uses, partner keys come from ``POST /v1/partners``
over HTTP. ``http`` is the shared driver (``support.Http``); ``make_partner`` and ``credit`` are
this directory's shorthands over it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from support import Http, HttpPartner, bearer, issue_operator_key
from zeropools.services.context import Deployment


@pytest.fixture
def operator_key(dep: Deployment) -> str:
    return issue_operator_key(dep).secret


@pytest.fixture
def operator(operator_key: str) -> dict[str, str]:
    """Authorization headers of the operator."""
    return bearer(operator_key)


@pytest.fixture
def http(client: TestClient, operator: dict[str, str]) -> Http:
    return Http(client, operator)


MakePartner = Callable[..., HttpPartner]


@pytest.fixture
def make_partner(http: Http) -> MakePartner:
    """Create a partner over HTTP (EUR, debit model unless told otherwise)."""

    def make(
        name: str = "Acme Wallet",
        balance_model: str = "debit",
        currencies: list[str] | None = None,
        **extra: Any,
    ) -> HttpPartner:
        return http.partner(
            name=name, balance_model=balance_model, currencies=currencies or ["EUR"], **extra
        )

    return make


Credit = Callable[..., httpx.Response]


@pytest.fixture
def credit(http: Http) -> Credit:
    """Post a booked bank credit with ``reference`` over HTTP as the operator; the response."""
    counter = iter(range(1, 10_000))

    def post(
        reference: str | None,
        amount: Any = "1000.00",
        currency: str = "EUR",
        booking_status: str = "booked",
        bank_transaction_id: str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        return http.payin(
            bank_transaction_id or f"bank-tx-{next(counter):04d}",
            amount,
            currency=currency,
            booking_status=booking_status,
            reference=reference,
            **extra,
        )

    return post

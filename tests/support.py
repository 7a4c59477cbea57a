"""Helpers shared by every test directory: one implementation of each.

How it is found: the test directories are not packages, and pytest (``prepend`` import mode)
puts the directory of every conftest and test module it imports at the front of ``sys.path``.
``tests/conftest.py`` sits in ``tests/``, so ``from support import ...`` works in any test or
helper module below it. The worker scripts (``services/payin_worker.py``,
``trading/trading_worker.py``) run outside pytest and put ``tests/`` on ``sys.path``
themselves.

Kept free of pytest at module level so those worker processes can import it too. Module names
must stay unique across ``tests/`` (hence ``support``, ``api_support``, ``trading_support``...).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi.testclient import TestClient

from zeropools.api.app import create_app
from zeropools.bootstrap import initialize
from zeropools.domain import ids
from zeropools.domain.clock import utc_now
from zeropools.domain.ledger import LedgerEntry
from zeropools.services import partners
from zeropools.services import payins as payin_service
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.services.partners import IssuedKey, NewPartner
from zeropools.store.open import open_store
from zeropools.store.protocol import Store

PG_ADMIN_URL = os.environ.get(
    "ZEROPOOLS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = ("type", "title", "status", "detail", "code", "request_id")


# -- databases ------------------------------------------------------------------------------


def sqlite_url(directory: Path, filename: str = "zeropools.db") -> str:
    """The URL of a SQLite database file ``filename`` in ``directory``."""
    return f"sqlite:///{directory / filename}"


@contextmanager
def throwaway_pg_database(prefix: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database on ``ZEROPOOLS_TEST_PG_URL``; its URL. Dropped after.

    Never skipped silently: an unreachable server fails, unless ``ZEROPOOLS_SKIP_PG=1`` is set
    explicitly (never in CI), which skips the calling test.
    """
    if os.environ.get("ZEROPOOLS_SKIP_PG") == "1":
        import pytest  # only fixtures get here; the worker processes stay free of pytest

        pytest.skip("ZEROPOOLS_SKIP_PG=1 set explicitly")
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def open_test_store(url: str) -> Store:
    """The store at ``url``, migrated and initialized in test mode; the caller closes it."""
    store = open_store(url)
    initialize(store, "test")
    return store


@contextmanager
def opened_store(url: str) -> Iterator[Store]:
    """``open_test_store(url)`` for the ``with`` block; closed afterwards."""
    store = open_test_store(url)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def app_client(dep: Deployment) -> Iterator[TestClient]:
    """A TestClient over ``create_app(dep)``, started (lifespan run) for the ``with`` block."""
    with TestClient(create_app(dep)) as client:
        yield client


@contextmanager
def live_server(dep: Deployment, startup_s: float = 20.0) -> Iterator[str]:
    """``create_app(dep)`` served by uvicorn on a free local port in a thread; its base URL.

    For what a TestClient cannot show: a browser, a generated client over real HTTP.
    """
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        create_app(dep), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            assert thread.is_alive(), "the live server exited during start-up"
            assert time.monotonic() < deadline, f"no /healthz answer within {startup_s} s"
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(10.0)


# -- contexts and keys ----------------------------------------------------------------------


def ctx_for(
    role: str = "operator", partner_id: str | None = None, now: datetime | None = None
) -> Ctx:
    """A context as the API builds it: a fresh request id, now, and the calling key."""
    return Ctx(
        request_id=ids.new_id(ids.REQUEST),
        now=now or datetime.now(UTC),
        actor=Actor(key_id=ids.new_id(ids.API_KEY), role=role, partner_id=partner_id),
    )


def issue_operator_key(dep: Deployment) -> IssuedKey:
    """An operator key issued the way ``zeropools init`` issues one (its id is ``zpk_...``)."""
    return partners.new_operator_key(dep, Ctx(request_id=ids.new_id(ids.REQUEST), now=utc_now()))


def bearer(secret: str) -> dict[str, str]:
    """Authorization headers for the API key ``secret``."""
    return {"Authorization": f"Bearer {secret}"}


# -- service layer --------------------------------------------------------------------------


def onboard(
    dep: Deployment,
    currencies: Sequence[str] = ("EUR",),
    name: str = "Acme Wallet",
    balance_model: str = "debit",
) -> NewPartner:
    """A new partner, created by the operator through ``services.partners``."""
    return partners.create_partner(
        dep, ctx_for(), name=name, balance_model=balance_model, currencies=list(currencies)
    )


def reference_of(new: NewPartner, currency: str = "EUR") -> str:
    """The funding reference of ``new`` in ``currency``."""
    pc = new.partner.currency(currency)
    assert pc is not None, currency
    return pc.funding_reference


def send_payin(
    dep: Deployment,
    bank_transaction_id: str,
    amount: str,
    *,
    currency: str = "EUR",
    booking_status: str = "booked",
    reference: str | None = None,
    remittance_info: str | None = None,
    debtor_name: str | None = "Debtor GmbH",
    ctx: Ctx | None = None,
) -> payin_service.Recorded:
    """What ``POST /v1/payins`` does: validate the notification, then record it.

    ``debtor_name`` is only stored, never used for attribution; any name will do.
    """
    note = payin_service.notification(
        dep,
        bank_transaction_id=bank_transaction_id,
        amount=amount,
        currency=currency,
        booking_status=booking_status,
        reference=reference,
        remittance_info=remittance_info,
        debtor_name=debtor_name,
    )
    return payin_service.record_payin(dep, ctx or ctx_for(), note)


def entries_of(dep: Deployment, partner_id: str) -> list[LedgerEntry]:
    """The partner's ledger entries as stored, in sequence order."""
    return dep.store.read(lambda tx: list(tx.iter_entries(partner_id)))


def balance_minor(dep: Deployment, partner_id: str, currency: str = "EUR") -> tuple[int, int]:
    """``(available, reserved)`` as stored, in minor units."""
    state = dep.store.read(lambda tx: tx.ledger_state(partner_id))
    balance = state.balances[currency]
    return balance.available_minor, balance.reserved_minor


# -- HTTP -----------------------------------------------------------------------------------


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

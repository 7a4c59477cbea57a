"""The HTTP side of the tests: the app client, response checks, and the one HTTP driver.

- ``app_client``: a started TestClient over ``create_app(dep)``.
- checks: ``assert_request_id``, ``assert_problem`` (RFC 9457 documents), ``error_fields``
  (the fields of a ``validation_error``), ``assert_chained`` (ledger sequences and hashes).
- single requests: ``post_partner`` and ``post_payin``, for tests that want the bare call.
- ``HttpPartner``: a partner created over HTTP, its keys as headers and as secrets, its key ids,
  funding references and the 201 body.
- ``Http``: the driver. The operator's and the partner backend's side of the API as one class:
  onboarding, pay-ins and their review actions, statement import, quotes, trades and their
  lifecycle, balances and ledger entries. Every test that drives the API through helpers uses it.

Everything here goes through an ``httpx.Client`` (a ``TestClient`` over ``create_app`` or a real
connection to a served deployment); the service-layer counterparts are in ``support.builders``.
"""

from __future__ import annotations

import enum
import itertools
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from fastapi.testclient import TestClient

from support.contexts import bearer
from zeropools.api.app import create_app
from zeropools.services.context import Deployment

PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = ("type", "title", "status", "detail", "code", "request_id")
GENESIS_HASH = "0" * 64


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


def error_fields(body: dict[str, Any]) -> set[str]:
    """The ``field`` of every item of a ``validation_error`` problem's ``errors``."""
    return {item["field"] for item in body["errors"]}


def assert_chained(entries: Sequence[Mapping[str, Any]]) -> None:
    """Sequences 1..n without gaps and each ``prev_hash`` naming the entry before."""
    assert [e["sequence"] for e in entries] == list(range(1, len(entries) + 1))
    previous = GENESIS_HASH
    for entry in entries:
        assert entry["prev_hash"] == previous, entry
        assert len(entry["hash"]) == 64 and entry["hash"] != previous, entry
        previous = entry["hash"]


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
    """A partner created over HTTP: its keys as ready-made Authorization headers (``admin``,
    ``server``) and as secrets, their key ids, its funding references and the 201 body."""

    id: str
    admin: dict[str, str]  # Authorization headers of the partner_admin key
    server: dict[str, str]  # Authorization headers of the partner_server key
    references: dict[str, str]  # currency -> funding reference
    admin_key_id: str = ""
    server_key_id: str = ""
    body: dict[str, Any] = field(default_factory=dict)  # the 201 response of POST /v1/partners

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> HttpPartner:
        """From the 201 body of ``POST /v1/partners``."""
        return cls(
            id=body["id"],
            admin=bearer(body["api_keys"]["partner_admin"]),
            server=bearer(body["api_keys"]["partner_server"]),
            references={fi["currency"]: fi["reference"] for fi in body["funding_instructions"]},
            admin_key_id=body["api_key_ids"]["partner_admin"],
            server_key_id=body["api_key_ids"]["partner_server"],
            body=dict(body),
        )

    @property
    def eur(self) -> str:
        """The EUR funding reference."""
        return self.references["EUR"]

    @property
    def admin_secret(self) -> str:
        """The partner_admin key itself (``zpk_...``), for clients that take a bare key."""
        return self.admin["Authorization"].removeprefix("Bearer ")

    @property
    def server_secret(self) -> str:
        """The partner_server key itself (``zpk_...``), for clients that take a bare key."""
        return self.server["Authorization"].removeprefix("Bearer ")


class _NoKey(enum.Enum):
    NO_KEY = "no Idempotency-Key header"


NO_KEY = _NoKey.NO_KEY
"""Pass as ``key=`` to send a request without an ``Idempotency-Key`` header at all."""

Reader = Literal["operator", "admin", "server"]
"""Who reads a balance or the ledger: the operator naming the partner (``?partner_id=``), or
the partner's own ``partner_admin`` or ``partner_server`` key."""


class Http:
    """The one HTTP driver: the API as an operator and a partner backend use it.

    ``client`` is any ``httpx.Client`` with the API at its base URL (a TestClient, or a real
    connection to a served deployment); ``operator`` the operator's Authorization headers.
    Requests that change something return the ``httpx.Response`` for the test to check; the
    shortcuts that only set up (``partner``, ``fund``, ``quote``, ``trade``) and the reads check
    their status themselves and return the body.

    Idempotency keys: every action that takes ``key`` sends ``Idempotency-Key:
    <run>-<key>``, where ``<run>`` is unique to this driver, because the operator's idempotency
    scope is shared by every test on a database (the trading tests share one per module).
    ``key=None`` sends a fresh key; ``key=NO_KEY`` sends none. Actions run as the operator
    unless ``headers`` names another caller (quotes and trades default to the partner's
    ``partner_server`` key); reads take ``by`` (a ``Reader``).
    """

    def __init__(self, client: httpx.Client, operator: dict[str, str]) -> None:
        self.client = client
        self.operator = operator
        self._bank_ids = itertools.count(1)
        self._run = secrets.token_hex(4)

    def key(self, name: str | None, kind: str = "key") -> str:
        """An Idempotency-Key unique to this driver: ``name`` made unique, or a fresh one."""
        return f"{self._run}-{name or kind + '-' + secrets.token_hex(8)}"

    def _idempotency(self, key: str | _NoKey | None, kind: str) -> dict[str, str]:
        if key is NO_KEY:
            return {}
        return {"Idempotency-Key": self.key(key, kind)}

    def _reader(self, partner: HttpPartner, by: Reader) -> tuple[dict[str, str], dict[str, str]]:
        """The headers and query parameters with which ``by`` reads ``partner``'s data."""
        if by == "operator":
            return self.operator, {"partner_id": partner.id}
        return (partner.admin if by == "admin" else partner.server), {}

    # -- partners and pay-ins (the operator's side) -------------------------------------------

    def partner(
        self,
        *,
        name: str = "Acme Wallet",
        balance_model: str = "debit",
        currencies: Sequence[str] = ("EUR",),
        **extra: Any,
    ) -> HttpPartner:
        """``POST /v1/partners`` as the operator (201 checked); ``extra`` goes in the body."""
        created = post_partner(self.client, self.operator, name, balance_model, currencies, **extra)
        return HttpPartner.from_body(created)

    def payin(
        self,
        bank_transaction_id: str,
        amount: Any,
        *,
        currency: str = "EUR",
        booking_status: str = "booked",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        """``POST /v1/payins`` (``reference``, ``remittance_info``... go in ``extra``)."""
        return post_payin(
            self.client,
            headers or self.operator,
            bank_transaction_id,
            amount,
            currency=currency,
            booking_status=booking_status,
            **extra,
        )

    def fund(self, partner: HttpPartner, amount: str, currency: str = "EUR") -> httpx.Response:
        """A booked bank credit carrying the partner's reference; checked to be credited."""
        response = self.payin(
            f"bank-{secrets.token_hex(4)}-{next(self._bank_ids)}",
            amount,
            currency=currency,
            booking_status="booked",
            reference=partner.references[currency],
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "credited", response.text
        return response

    def get_payin(self, payin_id: str) -> dict[str, Any]:
        """``GET /v1/payins/{id}`` as the operator."""
        response = self.client.get(f"/v1/payins/{payin_id}", headers=self.operator)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def payins(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every pay-in the operator sees (one page of up to 1000), newest first."""
        params = {"limit": "1000", **({"status": status} if status else {})}
        response = self.client.get("/v1/payins", params=params, headers=self.operator)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["has_more"] is False, "more than a page of pay-ins; page through them"
        data: list[dict[str, Any]] = body["data"]
        return data

    def _payin_action(
        self,
        payin_id: str,
        action: str,
        body: dict[str, Any],
        key: str | _NoKey | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response:
        return self.client.post(
            f"/v1/payins/{payin_id}/{action}",
            json=body,
            headers={**(headers or self.operator), **self._idempotency(key, action)},
        )

    def attribute(
        self,
        payin_id: str,
        partner_id: str,
        *,
        key: str | _NoKey | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """``POST /v1/payins/{id}/attribute`` to ``partner_id``."""
        return self._payin_action(payin_id, "attribute", {"partner_id": partner_id}, key, headers)

    def give_back(
        self,
        payin_id: str,
        reason: str,
        *,
        key: str | _NoKey | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """``POST /v1/payins/{id}/return`` (named so because ``return`` is a keyword)."""
        return self._payin_action(payin_id, "return", {"reason": reason}, key, headers)

    def import_file(self, data: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """``POST /v1/payins/import`` with a statement file as the raw body."""
        return self.client.post(
            "/v1/payins/import",
            content=data,
            headers={**(headers or self.operator), "Content-Type": "application/octet-stream"},
        )

    # -- quotes and trades (the partner backend's side) ---------------------------------------

    def quote(self, partner: HttpPartner, amount: str, pool_id: str = "EUR-USDT") -> dict[str, Any]:
        """``POST /v1/quotes`` with the partner_server key (201 checked); the quote."""
        response = self.client.post(
            "/v1/quotes",
            json={"pool_id": pool_id, "source_amount": amount},
            headers=partner.server,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def execute(
        self,
        partner: HttpPartner,
        quote_id: str,
        order_id: str = "order-1",
        *,
        key: str | _NoKey | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """``POST /v1/trades``, by default with the partner_server key."""
        return self.client.post(
            "/v1/trades",
            json={"quote_id": quote_id, "partner_order_id": order_id},
            headers={**(headers or partner.server), **self._idempotency(key, "exec")},
        )

    def trade(
        self, partner: HttpPartner, amount: str, order_id: str | None = None
    ) -> dict[str, Any]:
        """Quote and execute ``amount`` (201 checked) for a fresh order unless ``order_id`` names
        one (an order is executed once); the new trade's body."""
        quote_id = self.quote(partner, amount)["id"]
        response = self.execute(partner, quote_id, order_id or f"order-{quote_id}")
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def move(
        self,
        headers: dict[str, str],
        trade_id: str,
        action: str,
        body: dict[str, Any] | None = None,
        *,
        key: str | _NoKey | None = None,
    ) -> httpx.Response:
        """``POST /v1/trades/{id}/{action}`` (settle, release, fail, return) as ``headers``."""
        return self.client.post(
            f"/v1/trades/{trade_id}/{action}",
            json=body,
            headers={**headers, **self._idempotency(key, action)},
        )

    # -- reading balances and the ledger ------------------------------------------------------

    def balance(
        self, partner: HttpPartner, currency: str = "EUR", *, by: Reader = "server"
    ) -> dict[str, Any]:
        """``GET /v1/balances/{currency}`` of ``partner``, read ``by`` (200 checked)."""
        headers, params = self._reader(partner, by)
        response = self.client.get(f"/v1/balances/{currency}", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def available(
        self, partner: HttpPartner, currency: str = "EUR", *, by: Reader = "server"
    ) -> str:
        """``balance(...)["available"]``: the figure most checks compare."""
        return str(self.balance(partner, currency, by=by)["available"])

    def entries(
        self, partner: HttpPartner, *, by: Reader = "server", **params: str
    ) -> list[dict[str, Any]]:
        """``GET /v1/ledger-entries`` of ``partner`` (up to 1000, oldest first), read ``by``;
        ``params`` are the list's filters (``type``, ``trade_id``, ``currency``...)."""
        headers, reader_params = self._reader(partner, by)
        response = self.client.get(
            "/v1/ledger-entries",
            params={**reader_params, "limit": "1000", **params},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


@contextmanager
def live_server(dep: Deployment, startup_s: float = 120.0) -> Iterator[str]:
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

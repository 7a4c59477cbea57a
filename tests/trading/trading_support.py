"""Helpers shared by the trading tests: an HTTP driver and service-layer shortcuts.

Kept free of pytest so the helper process of ``test_trading_concurrency``
(``trading_worker.py``) can import the same code. Named ``trading_support`` because test
directories are not packages: every module name (helpers and test files alike) must be unique
across ``tests/``.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient

from zeropools.domain import ids
from zeropools.domain.ledger import LedgerEntry
from zeropools.services import payins as payin_service
from zeropools.services import trading
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.services.partners import create_partner

PROBLEM_JSON = "application/problem+json"
GENESIS_HASH = "0" * 64


# -- HTTP ------------------------------------------------------------------------------------


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def request_id(response: httpx.Response) -> str:
    found = response.headers.get("x-request-id", "")
    assert found.startswith("req_"), response.headers
    return found


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem document with ``status`` and ``code``; returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status, body
    assert body["type"] == f"/errors/{code}", body
    assert body["title"] and body["detail"], body
    assert body["request_id"] == request_id(response), body
    return body


@dataclass(frozen=True)
class HttpPartner:
    id: str
    server: dict[str, str]  # Authorization headers of the partner_server key
    admin: dict[str, str]  # Authorization headers of the partner_admin key
    references: Mapping[str, str]  # currency -> funding reference


class Api:
    """A thin driver over the HTTP API as a partner backend and an operator would use it."""

    def __init__(self, client: TestClient, operator: dict[str, str]) -> None:
        self.client = client
        self.operator = operator
        self._bank_ids = itertools.count(1)
        # the operator's idempotency scope is shared by every test on a module's database
        self._run = secrets.token_hex(4)

    def key(self, name: str | None, kind: str = "key") -> str:
        """An Idempotency-Key unique to this test: ``name`` made unique, or a fresh one."""
        return f"{self._run}-{name or kind + '-' + secrets.token_hex(8)}"

    def partner(
        self,
        balance_model: str = "debit",
        currencies: Sequence[str] = ("EUR",),
        name: str = "Acme Wallet",
        **extra: Any,
    ) -> HttpPartner:
        body = {
            "name": name,
            "balance_model": balance_model,
            "currencies": list(currencies),
            **extra,
        }
        response = self.client.post("/v1/partners", json=body, headers=self.operator)
        assert response.status_code == 201, response.text
        created = response.json()
        return HttpPartner(
            id=created["id"],
            server=bearer(created["api_keys"]["partner_server"]),
            admin=bearer(created["api_keys"]["partner_admin"]),
            references={fi["currency"]: fi["reference"] for fi in created["funding_instructions"]},
        )

    def fund(self, partner: HttpPartner, amount: str, currency: str = "EUR") -> httpx.Response:
        """A booked bank credit carrying the partner's reference (a ``payin_credit``)."""
        response = self.client.post(
            "/v1/payins",
            json={
                "bank_transaction_id": f"bank-{secrets.token_hex(4)}-{next(self._bank_ids)}",
                "amount": amount,
                "currency": currency,
                "booking_status": "booked",
                "reference": partner.references[currency],
            },
            headers=self.operator,
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "credited", response.text
        return response

    def quote(self, partner: HttpPartner, amount: str, pool_id: str = "EUR-USDT") -> dict[str, Any]:
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
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return self.client.post(
            "/v1/trades",
            json={"quote_id": quote_id, "partner_order_id": order_id},
            headers={
                **(headers or partner.server),
                "Idempotency-Key": self.key(key, "exec"),
            },
        )

    def trade(self, partner: HttpPartner, amount: str, order_id: str = "order-1") -> dict[str, Any]:
        """Quote and execute ``amount``; the new trade's body."""
        response = self.execute(partner, self.quote(partner, amount)["id"], order_id)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def move(
        self,
        headers: dict[str, str],
        trade_id: str,
        action: str,
        body: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        """``POST /v1/trades/{id}/{action}`` (settle, release, fail, return)."""
        return self.client.post(
            f"/v1/trades/{trade_id}/{action}",
            json=body,
            headers={**headers, "Idempotency-Key": self.key(key, action)},
        )

    def entries(self, partner: HttpPartner, **params: str) -> list[dict[str, Any]]:
        response = self.client.get(
            "/v1/ledger-entries", params={"limit": "1000", **params}, headers=partner.server
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def balance(self, partner: HttpPartner, currency: str = "EUR") -> dict[str, Any]:
        response = self.client.get(f"/v1/balances/{currency}", headers=partner.server)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def assert_chained(entries: Sequence[Mapping[str, Any]]) -> None:
    """Sequences 1..n without gaps and each ``prev_hash`` naming the entry before."""
    assert [e["sequence"] for e in entries] == list(range(1, len(entries) + 1))
    previous = GENESIS_HASH
    for entry in entries:
        assert entry["prev_hash"] == previous, entry
        assert len(entry["hash"]) == 64 and entry["hash"] != previous, entry
        previous = entry["hash"]


# -- service layer ---------------------------------------------------------------------------


def ctx_for(
    role: str = "operator", partner_id: str | None = None, now: datetime | None = None
) -> Ctx:
    """A context as the API builds it: a fresh request id, now, and the calling key."""
    return Ctx(
        request_id=ids.new_id(ids.REQUEST),
        now=now or datetime.now(UTC),
        actor=Actor(key_id=ids.new_id(ids.API_KEY), role=role, partner_id=partner_id),
    )


def server_ctx(partner_id: str, now: datetime | None = None) -> Ctx:
    return ctx_for("partner_server", partner_id, now)


def onboard(dep: Deployment, balance_model: str = "debit", name: str = "Acme Wallet") -> str:
    """A new EUR partner; its id."""
    new = create_partner(dep, ctx_for(), name=name, balance_model=balance_model, currencies=["EUR"])
    return new.partner.id


def fund(dep: Deployment, partner_id: str, amount: str, currency: str = "EUR") -> None:
    """Credit ``amount`` through a booked pay-in carrying the partner's funding reference."""
    partner = dep.store.read(lambda tx: tx.get_partner(partner_id))
    assert partner is not None
    pc = partner.currency(currency)
    assert pc is not None
    note = payin_service.notification(
        dep,
        bank_transaction_id=f"bank-{secrets.token_hex(8)}",
        amount=amount,
        currency=currency,
        booking_status="booked",
        reference=pc.funding_reference,
    )
    recorded = payin_service.record_payin(dep, ctx_for(), note)
    assert recorded.payin.status == "credited", recorded


def quote(dep: Deployment, partner_id: str, amount: str, now: datetime | None = None) -> str:
    view = trading.create_quote(
        dep,
        server_ctx(partner_id, now),
        pool_id="EUR-USDT",
        source_amount=amount,
        partner_order_id=None,
    )
    return view.quote.id


def entries_of(dep: Deployment, partner_id: str) -> list[LedgerEntry]:
    return dep.store.read(lambda tx: list(tx.iter_entries(partner_id)))


def balance_minor(dep: Deployment, partner_id: str, currency: str = "EUR") -> tuple[int, int]:
    """``(available, reserved)`` as stored."""
    state = dep.store.read(lambda tx: tx.ledger_state(partner_id))
    balance = state.balances[currency]
    return balance.available_minor, balance.reserved_minor

"""Helpers of the trading tests: an HTTP driver and service-layer shortcuts.

Built on ``tests/support.py`` (contexts, partners, pay-ins, HTTP checks). Kept free of pytest
so the helper process of ``test_trading_concurrency`` (``trading_worker.py``) can import the
same code. Named ``trading_support`` because test directories are not packages: every module
name (helpers and test files alike) must be unique across ``tests/``.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from fastapi.testclient import TestClient

from support import HttpPartner, post_partner, post_payin

GENESIS_HASH = "0" * 64


# -- HTTP ------------------------------------------------------------------------------------


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
        created = post_partner(self.client, self.operator, name, balance_model, currencies, **extra)
        return HttpPartner.from_body(created)

    def fund(self, partner: HttpPartner, amount: str, currency: str = "EUR") -> httpx.Response:
        """A booked bank credit carrying the partner's reference (a ``payin_credit``)."""
        response = post_payin(
            self.client,
            self.operator,
            f"bank-{secrets.token_hex(4)}-{next(self._bank_ids)}",
            amount,
            currency=currency,
            booking_status="booked",
            reference=partner.references[currency],
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

"""Helpers of the funding tests: suspense figures, typed references, HTTP driver, statements.

Built on ``tests/support.py`` (contexts, partners, pay-ins, HTTP checks). Test directories are
not packages, so every helper module name must be unique across ``tests/`` (hence
``funding_support``). The camt generator and the fixture directory helper of the bank-file unit
tests are loaded by path, so these tests use the very same code without depending on how
``tests/unit`` lands on ``sys.path``.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from support import HttpPartner, post_partner, post_payin

# -- HTTP -----------------------------------------------------------------------------------


class Http:
    """The operator's side of the funding API, over a TestClient."""

    def __init__(self, client: TestClient, operator: dict[str, str]) -> None:
        self.client = client
        self.operator = operator

    def partner(
        self, name: str = "Acme Wallet", currencies: tuple[str, ...] = ("EUR",)
    ) -> HttpPartner:
        return HttpPartner.from_body(
            post_partner(self.client, self.operator, name, "debit", currencies)
        )

    def payin(
        self,
        bank_transaction_id: str,
        amount: str,
        *,
        currency: str = "EUR",
        booking_status: str = "booked",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        return post_payin(
            self.client,
            headers or self.operator,
            bank_transaction_id,
            amount,
            currency=currency,
            booking_status=booking_status,
            **extra,
        )

    def get_payin(self, payin_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/payins/{payin_id}", headers=self.operator)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def payins(self, status: str | None = None) -> list[dict[str, Any]]:
        params = {"limit": "1000", **({"status": status} if status else {})}
        response = self.client.get("/v1/payins", params=params, headers=self.operator)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["has_more"] is False, "more than a page of pay-ins; page through them"
        data: list[dict[str, Any]] = body["data"]
        return data

    def _act(
        self,
        payin_id: str,
        action: str,
        body: dict[str, Any],
        key: str | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response:
        """``POST /v1/payins/{id}/{action}`` as ``headers`` (default: the operator), with
        ``Idempotency-Key: key`` when given."""
        return self.client.post(
            f"/v1/payins/{payin_id}/{action}",
            json=body,
            headers={**(headers or self.operator), **({"Idempotency-Key": key} if key else {})},
        )

    def attribute(
        self, payin_id: str, partner_id: str, key: str | None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self._act(payin_id, "attribute", {"partner_id": partner_id}, key, headers)

    def give_back(
        self, payin_id: str, reason: str, key: str | None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """``POST /v1/payins/{id}/return`` (named so because ``return`` is a keyword)."""
        return self._act(payin_id, "return", {"reason": reason}, key, headers)

    def import_file(self, data: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post(
            "/v1/payins/import",
            content=data,
            headers={**(headers or self.operator), "Content-Type": "application/octet-stream"},
        )

    def available(self, partner: HttpPartner, currency: str = "EUR") -> str:
        response = self.client.get(
            f"/v1/balances/{currency}", params={"partner_id": partner.id}, headers=self.operator
        )
        assert response.status_code == 200, response.text
        return str(response.json()["available"])

    def entries(self, partner: HttpPartner) -> list[dict[str, Any]]:
        response = self.client.get(
            "/v1/ledger-entries",
            params={"partner_id": partner.id, "limit": "1000"},
            headers=self.operator,
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

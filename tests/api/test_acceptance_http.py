"""The issue's acceptance scenario, over HTTP, on SQLite and on PostgreSQL.

Goal: an operator onboards a partner and records a booked bank credit of 1000.00 EUR carrying the
partner's funding reference; the partner's own key then reads ``available: "1000.00"`` and
exactly one ``payin_credit`` ledger entry with ``sequence: 1``, a hash and the ``req_`` id of the
request that credited it.

Method: only public HTTP calls through TestClient over ``create_app(dep)``; the partner's keys and
reference are taken from the 201 response, as a real operator would.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from support import bearer, post_partner, post_payin


def test_an_operator_credits_a_partner_who_then_reads_its_balance_and_ledger(
    client: TestClient, operator: dict[str, str]
) -> None:
    partner = post_partner(client, operator, "Acme Wallet", "debit", ["EUR"])  # checks the 201
    reference = partner["funding_instructions"][0]["reference"]
    server_key = partner["api_keys"]["partner_server"]

    credited = post_payin(
        client, operator, "acceptance-0001", "1000.00", booking_status="booked", reference=reference
    )
    assert credited.status_code == 201, credited.text
    assert credited.json()["status"] == "credited"

    balance = client.get("/v1/balances/EUR", headers=bearer(server_key))
    assert balance.status_code == 200, balance.text
    assert balance.json()["available"] == "1000.00"

    ledger = client.get("/v1/ledger-entries", headers=bearer(server_key))
    assert ledger.status_code == 200, ledger.text
    [entry] = ledger.json()["data"]
    assert entry["type"] == "payin_credit"
    assert entry["amount"] == "1000.00"
    assert entry["sequence"] == 1
    assert re.fullmatch(r"[0-9a-f]{64}", entry["hash"])
    assert entry["request_id"].startswith("req_")
    assert entry["request_id"] == credited.headers["x-request-id"]
    assert entry["partner_id"] == partner["id"]

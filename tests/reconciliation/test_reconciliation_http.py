"""The reconciliation routes over HTTP: one test per route, shapes checked against the models.

Goal: ``GET /v1/reconciliation``, ``POST /v1/reconciliation/{id}/acknowledge``,
``POST /v1/reconciliation/match`` (JSON and x-ndjson answers), ``GET /v1/support-packets`` and
``GET /v1/balances/{currency}/changes`` answer API.md's shapes (validated against the response
models, so the OpenAPI document and the wire agree), refuse with RFC 9457 problems and the
documented codes, and let each role do what docs/api-notes.md says: partner admins and operators
reconcile, partner servers get 403 there but read support packets and balance changes.
Method: the app over a deployment of each store (``client``); the day laid out through the
services on a fixed clock; real API keys.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from recon_support import DAY_TEXT, Book, at

from support import assert_problem, bearer, issue_operator_key
from zeropools.representations import models
from zeropools.services.context import Deployment

CSV_HEADER = "partner_order_id,amount,currency,created_at,trade_id,status\n"


def a_day(dep: Deployment) -> tuple[Book, dict[str, str]]:
    book = Book.open(dep)
    book.fund("1000.00", at(9))
    settled = book.trade("100.00", "o-1", at(9, 15))
    book.move(settled.id, "settled", at(9, 20))
    failed = book.trade("50.00", "o-2", at(10))
    book.move(failed.id, "failed", at(10, 5))
    return book, {"settled": settled.id, "failed": failed.id}


def test_get_reconciliation_lists_the_days_rows_for_admins_and_operators(
    client: TestClient, dep: Deployment
) -> None:
    book, ids = a_day(dep)
    admin = bearer(book.secret("partner_admin"))
    response = client.get("/v1/reconciliation", params={"date": DAY_TEXT}, headers=admin)
    assert response.status_code == 200, response.text
    body = models.ListOf[models.ReconciliationRow].model_validate(response.json())
    assert [row.id for row in body.data][:2] == [ids["failed"], ids["settled"]]
    assert body.data[0].reconciliation_state == "open" and body.data[0].transact_id == ids["failed"]
    open_only = client.get(
        "/v1/reconciliation", params={"date": DAY_TEXT, "state": "open", "limit": 1}, headers=admin
    )
    assert [row["id"] for row in open_only.json()["data"]] == [ids["failed"]]
    assert open_only.json()["has_more"] is False
    operator = bearer(issue_operator_key(dep).secret)
    as_operator = client.get(
        "/v1/reconciliation",
        params={"date": DAY_TEXT, "partner_id": book.partner_id},
        headers=operator,
    )
    assert as_operator.json() == response.json()
    server = bearer(book.secret("partner_server"))
    assert_problem(client.get("/v1/reconciliation", headers=server), 403, "forbidden")
    assert_problem(client.get("/v1/reconciliation", headers=operator), 422, "validation_error")
    bad_day = client.get("/v1/reconciliation", params={"date": "2026-13-01"}, headers=admin)
    assert_problem(bad_day, 422, "validation_error")
    bad_state = client.get("/v1/reconciliation", params={"state": "closed"}, headers=admin)
    assert_problem(bad_state, 422, "validation_error")


def test_post_acknowledge_reconciles_once_with_or_without_an_idempotency_key(
    client: TestClient, dep: Deployment
) -> None:
    book, ids = a_day(dep)
    admin = bearer(book.secret("partner_admin"))
    path = f"/v1/reconciliation/{ids['failed']}/acknowledge"
    keyed = {**admin, "Idempotency-Key": "ack-1"}
    first = client.post(path, json={"note": "refund booked"}, headers=keyed)
    assert first.status_code == 200, first.text
    row = models.ReconciliationRow.model_validate(first.json())
    assert (row.reconciliation_state, row.note, row.acknowledged_via) == (
        "reconciled",
        "refund booked",
        "api",
    )
    admin_key_id = next(k.key.id for k in book.new.keys if k.key.role == "partner_admin")
    assert row.acknowledged_by == admin_key_id
    replay = client.post(path, json={"note": "refund booked"}, headers=keyed)
    assert replay.headers.get("idempotent-replayed") == "true" and replay.content == first.content
    unkeyed = client.post(path, json={"note": "again"}, headers=admin)
    assert unkeyed.status_code == 200 and unkeyed.json()["note"] == "refund booked"
    settled = client.post(
        f"/v1/reconciliation/{ids['settled']}/acknowledge", json={"note": "x"}, headers=admin
    )
    problem = assert_problem(settled, 409, "invalid_transition")
    assert (problem["from_status"], problem["to_status"]) == ("settled", "acknowledged")
    assert_problem(client.post(path, json={}, headers=admin), 422, "validation_error")
    other = Book.open(dep, name="Other")
    assert_problem(
        client.post(path, json={"note": "x"}, headers=bearer(other.secret("partner_admin"))),
        404,
        "not_found",
    )
    server = bearer(book.secret("partner_server"))
    assert_problem(client.post(path, json={"note": "x"}, headers=server), 403, "forbidden")
    events = client.get(
        "/v1/events", params={"type": "reconciliation.acknowledged"}, headers=server
    ).json()["data"]
    assert [e["data"]["object"]["id"] for e in events] == [ids["failed"]]


def test_post_match_answers_json_or_json_lines_with_the_summary_last(
    client: TestClient, dep: Deployment
) -> None:
    book, ids = a_day(dep)
    admin = bearer(book.secret("partner_admin"))
    data = (
        CSV_HEADER
        + f"o-1,100.00,EUR,2026-11-23T09:15:01Z,{ids['settled']},settled\n"
        + "theirs-2,50.00,EUR,2026-11-23T10:00:30Z,,failed\n"
        + "broken,1.2.3,EUR,2026-11-23T10:00:30Z,,\n"
    ).encode()
    response = client.post(
        "/v1/reconciliation/match", content=data, headers={**admin, "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    body = models.ReconciliationMatch.model_validate(response.json())
    assert (body.rows_read, body.matched, body.invalid, body.acknowledged) == (3, 2, 1, 1)
    assert [(r.line, r.tier) for r in body.results] == [(2, "id"), (3, "amount_time")]
    assert [(e.line, e.field) for e in body.errors] == [(4, "amount")]
    assert body.by_tier == {"id": 1, "amount_time": 1} and body.from_ is not None
    lines = client.post(
        "/v1/reconciliation/match?tolerance_s=60",
        content=data,
        headers={**admin, "Content-Type": "text/csv", "Accept": "application/x-ndjson"},
    )
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    objects = [json.loads(line) for line in lines.text.splitlines()]
    assert [o["object"] for o in objects] == [
        "reconciliation_match_result",
        "reconciliation_match_result",
        "reconciliation_match_error",
        "reconciliation_match",
    ]
    assert objects[-1]["tolerance_s"] == 60 and objects[-1]["acknowledged"] == 0
    unreadable = client.post(
        "/v1/reconciliation/match",
        content=b"order;amount\n1;2\n",
        headers={**admin, "Content-Type": "text/csv"},
    )
    problem = assert_problem(unreadable, 422, "validation_error")
    assert problem["line"] == 1 and "lacks" in problem["detail"]
    server = bearer(book.secret("partner_server"))
    refused = client.post("/v1/reconciliation/match", content=data, headers=server)
    assert_problem(refused, 403, "forbidden")


def test_get_support_packets_answers_the_story_of_one_id(
    client: TestClient, dep: Deployment
) -> None:
    book, ids = a_day(dep)
    server = bearer(book.secret("partner_server"))
    response = client.get("/v1/support-packets", params={"trade_id": ids["failed"]}, headers=server)
    assert response.status_code == 200, response.text
    packet = models.SupportPacket.model_validate(response.json())
    assert (packet.trade_id, packet.trade_status, packet.balance_delta) == (
        ids["failed"],
        "failed",
        "0.00",
    )
    assert [e.type for e in packet.entries] == ["buy_debit", "buy_refund"]
    by_entry = client.get(
        "/v1/support-packets", params={"ledger_entry_id": packet.entries[1].id}, headers=server
    )
    assert by_entry.json() == response.json()
    assert_problem(client.get("/v1/support-packets", headers=server), 422, "validation_error")
    other = Book.open(dep, name="Other")
    assert_problem(
        client.get(
            "/v1/support-packets",
            params={"trade_id": ids["failed"]},
            headers=bearer(other.secret("partner_server")),
        ),
        404,
        "not_found",
    )


def test_get_balance_changes_explains_the_window(client: TestClient, dep: Deployment) -> None:
    book, _ = a_day(dep)
    server = bearer(book.secret("partner_server"))
    params: dict[str, Any] = {
        "from": "2026-11-23T09:10:00Z",
        "to": "2026-11-23T11:00:00Z",
        "limit": 2,
    }
    response = client.get("/v1/balances/EUR/changes", params=params, headers=server)
    assert response.status_code == 200, response.text
    body = response.json()
    models.BalanceChanges.model_validate(body)
    assert (body["from"], body["to"]) == (
        "2026-11-23T09:10:00.000000Z",
        "2026-11-23T11:00:00.000000Z",
    )
    assert body["opening"] == {"available": "1000.00", "reserved": "0.00"}
    assert body["closing"] == {"available": "900.00", "reserved": "0.00"}
    assert (body["credits"], body["debits"]) == ("50.00", "-150.00")
    assert body["by_type"] == {
        "buy_debit": {"count": 2, "amount": "-150.00"},
        "buy_refund": {"count": 1, "amount": "50.00"},
    }
    assert [e["type"] for e in body["entries"]] == ["buy_debit", "buy_debit"]
    assert body["has_more"] is True and body["entry_count"] == 3
    reversed_window = {"from": "2026-11-23T11:00:00Z", "to": "2026-11-23T09:00:00Z"}
    assert_problem(
        client.get("/v1/balances/EUR/changes", params=reversed_window, headers=server),
        422,
        "validation_error",
    )
    assert_problem(client.get("/v1/balances/GBP/changes", headers=server), 404, "not_found")

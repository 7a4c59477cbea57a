"""Issue 9's "done when", as a test: a partner's day reconciled against its own books.

Goal: for a day with credits, trades, a release, a failure and a return, the partner's own
order file (its order numbers for some rows, our ids for others) reconciles with each row's tier
shown; the failure, reported ``failed`` in the file, is acknowledged by the match; the return,
which the partner's books still show as settled, stays open until a partner admin acknowledges
it; and a support packet from any id of a trade (trade, quote, order, every entry, every
request) is the same packet and names every id of its chain.
Method: the day laid out through the services on a fixed clock (the same commands the API
sends, so it can sit on 2026-11-23); everything the partner does goes over HTTP with its real
keys, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from recon_support import DAY_TEXT, Book, at

from support import bearer
from zeropools.services.context import Deployment


def test_a_partners_day_reconciles_against_its_own_order_file(
    client: TestClient, dep: Deployment
) -> None:
    book = Book.open(dep)
    first = book.fund("1000.00", at(8, 30))
    second = book.fund("500.00", at(12))
    settled = book.trade("100.00", "ORD-1001", at(9, 15))
    book.move(settled.id, "settled", at(9, 20))
    released = book.trade("250.00", "ORD-1002", at(10))
    book.move(released.id, "released", at(10, 2))
    failed = book.trade("75.00", "ORD-1003", at(11))
    book.move(failed.id, "failed", at(11, 4))
    returned = book.trade("40.00", "ORD-1004", at(13))
    book.move(returned.id, "settled", at(13, 5))
    book.move(returned.id, "returned", at(16))
    admin = bearer(book.secret("partner_admin"))

    # The partner's books: our trade id for one order, our quote id for another, its own
    # numbering for the failure (amount and time), the order id for the return it missed.
    books = (
        "partner_order_id,amount,currency,created_at,trade_id,quote_id,status\n"
        f"ORD-1001,100.00,EUR,2026-11-23T09:15:02Z,{settled.id},,settled\n"
        f"ORD-1002,250.00,EUR,2026-11-23T10:00:01Z,,{released.quote_id},released\n"
        "acme/2026/77,75.00,EUR,2026-11-23T11:01:30Z,,,failed\n"
        "ORD-1004,40.00,EUR,2026-11-23T13:00:01Z,,,settled\n"
    )
    match = client.post(
        "/v1/reconciliation/match",
        content=books.encode(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert match.status_code == 200, match.text
    summary = match.json()
    shown = [
        (r["line"], r["trade_id"], r["outcome"], r["tier"], r["acknowledged"])
        for r in summary["results"]
    ]
    assert shown == [
        (2, settled.id, "matched", "id", False),
        (3, released.id, "matched", "id", False),
        (4, failed.id, "matched", "amount_time", True),
        (5, returned.id, "mismatched", "id", False),
    ]
    differences = {r["line"]: r["differences"] for r in summary["results"]}
    assert differences[4] == [
        {"field": "partner_order_id", "file": "acme/2026/77", "ledger": "ORD-1003"}
    ]
    assert differences[5] == [{"field": "status", "file": "settled", "ledger": "returned"}]
    assert (summary["missing_in_file"], summary["missing_in_ledger"]) == (0, 0)

    def open_rows() -> list[str]:
        response = client.get(
            "/v1/reconciliation", params={"date": DAY_TEXT, "state": "open"}, headers=admin
        )
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["data"]]

    assert open_rows() == [returned.id]  # the failure was acknowledged by the match
    day = client.get("/v1/reconciliation", params={"date": DAY_TEXT}, headers=admin).json()
    assert {row["id"] for row in day["data"]} == {
        first.id,
        second.id,
        settled.id,
        released.id,
        failed.id,
        returned.id,
    }
    acknowledged = client.post(
        f"/v1/reconciliation/{returned.id}/acknowledge",
        json={"note": "return booked against ORD-1004 on 2026-11-24"},
        headers=admin,
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["reconciliation_state"] == "reconciled"
    assert open_rows() == []

    # A support packet from any id of the returned trade tells the same story...
    def packet(**ids: str) -> dict[str, Any]:
        response = client.get("/v1/support-packets", params=ids, headers=admin)
        assert response.status_code == 200, (ids, response.text)
        body: dict[str, Any] = response.json()
        return body

    told = packet(trade_id=returned.id)
    entry_ids = [e["id"] for e in told["entries"]]
    ways = [("quote_id", returned.quote_id), ("partner_order_id", "ORD-1004")]
    ways += [("ledger_entry_id", entry_id) for entry_id in entry_ids]
    ways += [("request_id", request_id) for request_id in told["request_ids"]]
    for name, value in ways:
        assert packet(**{name: value}) == told, (name, value)
    # ... and names every id of its chain
    assert (told["trade_id"], told["transact_id"], told["quote_id"]) == (
        returned.id,
        returned.id,
        returned.quote_id,
    )
    assert told["partner_order_id"] == "ORD-1004" and told["funding_reference"] == book.reference
    assert [e["type"] for e in told["entries"]] == ["buy_debit", "buy_return"]
    assert told["ledger_entry_id"] == entry_ids[0] and told["balance_delta"] == "0.00"
    assert told["request_id"] == returned.request_id and len(told["request_ids"]) == 5
    assert {item["kind"] for item in told["timeline"]} == {"request", "entry", "event"}
    timeline_ids = {item["id"] for item in told["timeline"]}
    assert set(entry_ids) | set(told["request_ids"]) | set(told["event_ids"]) <= timeline_ids
    events = [item["summary"].split(" ")[0] for item in told["timeline"] if item["kind"] == "event"]
    assert events == [
        "trade.debited",
        "trade.settled",
        "trade.returned",
        "reconciliation.acknowledged",
    ]

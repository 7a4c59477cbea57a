"""The product brief's two ledger sequences, reproduced exactly over HTTP.

Goal: PRODUCT-BRIEF.txt's "Example ledger sequence" (debit model: payin_credit +1000.00,
buy_debit -100.00, buy_refund +100.00 linking the debit, buy_debit -250.00 that stands when the
trade settles) and its "Ledger sequence example" (reserve model: 50000.00 funded, 100.00
reserved, then settled by a trade_settle entry) come out entry for entry: types, signed amounts,
balances after, sequences 1..n, a hash chain, and on every trade entry the ids that explain it
(trade, quote, partner order, and the request id of the HTTP request that caused it).

Method: TestClient over ``create_app(module_dep)`` on SQLite and PostgreSQL; money arrives through
``POST /v1/payins`` with the partner's funding reference, trades through ``POST /v1/quotes`` and
``POST /v1/trades`` with an Idempotency-Key, outcomes through the lifecycle routes; the result is
read back from ``GET /v1/ledger-entries`` and ``GET /v1/balances/EUR``.
"""

from __future__ import annotations

from typing import Any

from support import Http, assert_chained, assert_request_id
from zeropools.services.context import Deployment
from zeropools.services.verify import verify


def figures(balance: dict[str, Any]) -> tuple[str, str, str, str]:
    """``(available, reserved, pending, total)`` of a ``GET /v1/balances/{currency}`` body."""
    return (balance["available"], balance["reserved"], balance["pending"], balance["total"])


def test_the_debit_model_reproduces_the_briefs_example_ledger_sequence(
    http: Http, module_dep: Deployment
) -> None:
    partner = http.partner(balance_model="debit")
    funded = http.fund(partner, "1000.00")
    payin_request = assert_request_id(funded)

    first_quote = http.quote(partner, "100.00")
    first = http.execute(partner, first_quote["id"], "order_123")
    assert first.status_code == 201, first.text
    first_trade = first.json()
    assert first_trade["status"] == "debited"
    released = http.move(partner.server, first_trade["id"], "release")
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "released"

    second_quote = http.quote(partner, "250.00")
    second = http.execute(partner, second_quote["id"], "order_124")
    assert second.status_code == 201, second.text
    second_trade = second.json()
    settled = http.move(http.operator, second_trade["id"], "settle", {"tx_hash": "0xabc"})
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "settled"

    entries = http.entries(partner)
    assert [(e["type"], e["amount"], e["available_after"]) for e in entries] == [
        ("payin_credit", "1000.00", "1000.00"),
        ("buy_debit", "-100.00", "900.00"),
        ("buy_refund", "100.00", "1000.00"),
        ("buy_debit", "-250.00", "750.00"),
    ]
    assert all(e["reserved_after"] == "0.00" and e["currency"] == "EUR" for e in entries)
    assert_chained(entries)
    credit, debit, refund, later_debit = entries

    assert credit["payin_id"] == funded.json()["id"]
    assert credit["funding_reference"] == partner.references["EUR"]
    assert credit["request_id"] == payin_request
    assert credit["trade_id"] is None

    assert (debit["trade_id"], debit["quote_id"], debit["partner_order_id"]) == (
        first_trade["id"],
        first_quote["id"],
        "order_123",
    )
    assert debit["request_id"] == assert_request_id(first)
    assert debit["related_entry_id"] is None
    # the refund unwinds exactly the debit, and names the release request that caused it
    assert (refund["trade_id"], refund["quote_id"], refund["partner_order_id"]) == (
        first_trade["id"],
        first_quote["id"],
        "order_123",
    )
    assert refund["related_entry_id"] == debit["id"]
    assert refund["request_id"] == assert_request_id(released)

    assert (later_debit["trade_id"], later_debit["quote_id"], later_debit["partner_order_id"]) == (
        second_trade["id"],
        second_quote["id"],
        "order_124",
    )
    assert later_debit["request_id"] == assert_request_id(second)
    # settling posted nothing: the debit stands, and the trade names only its one entry
    assert settled.json()["ledger_entry_ids"] == [later_debit["id"]]
    assert first_trade["ledger_entry_ids"] == [debit["id"]]
    assert released.json()["ledger_entry_ids"] == [debit["id"], refund["id"]]

    assert figures(http.balance(partner)) == ("750.00", "0.00", "0.00", "750.00")
    assert verify(module_dep.store).ok


def test_the_reserve_model_reproduces_the_briefs_reserve_then_settle_sequence(
    http: Http, module_dep: Deployment
) -> None:
    partner = http.partner(balance_model="reserve")
    funded = http.fund(partner, "50000.00")

    quoted = http.quote(partner, "100.00")
    executed = http.execute(partner, quoted["id"], "order_9A2")
    assert executed.status_code == 201, executed.text
    trade = executed.json()
    assert trade["status"] == "reserved"

    assert figures(http.balance(partner)) == ("49900.00", "100.00", "100.00", "50000.00")

    settled = http.move(http.operator, trade["id"], "settle")
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "settled"
    assert settled.json()["delivered_amount"] == trade["target_amount"]

    entries = http.entries(partner)
    assert [
        (e["type"], e["amount"], e["available_after"], e["reserved_after"]) for e in entries
    ] == [
        ("payin_credit", "50000.00", "50000.00", "0.00"),
        ("trade_reserve", "-100.00", "49900.00", "100.00"),
        ("trade_settle", "-100.00", "49900.00", "0.00"),
    ]
    assert_chained(entries)
    credit, reserve, settle = entries
    assert credit["request_id"] == assert_request_id(funded)
    for entry, response in ((reserve, executed), (settle, settled)):
        assert (entry["trade_id"], entry["quote_id"], entry["partner_order_id"]) == (
            trade["id"],
            quoted["id"],
            "order_9A2",
        )
        assert entry["request_id"] == assert_request_id(response)
    assert settled.json()["ledger_entry_ids"] == [reserve["id"], settle["id"]]

    assert figures(http.balance(partner)) == ("49900.00", "0.00", "0.00", "49900.00")
    assert verify(module_dep.store).ok

"""Support packets: any one id of a story gives the same story.

Goal: for an order that was refused once (insufficient balance), then traded, settled and
returned, the packet is identical from its trade id, from both its quote ids, from its order id,
from each of its entries and from every request that touched it (the quotes', the refused
execution's, the execution's, the settlement's that wrote only an event, the return's), and it
names every id of the chain with a timeline of requests, refusal, entries with their balances
before and after, and events, in time order; a funding reference's packet tells the funding side
(pay-ins newest first, credits and a recall) and is the one its pay-ins, credits and their
requests lead to; an order that never traded and an adjustment have stories of their own;
another partner's ids are 404 like unknown ones; exactly one id is asked for.
Method: the services on a fixed clock (``recon_support.Book``), on SQLite and PostgreSQL;
packets compared as rendered JSON (``representations.objects.support_packet``).
"""

from __future__ import annotations

from typing import Any

import pytest
from recon_support import Book, at

from support import ctx_for
from zeropools.domain.errors import InsufficientBalance, NotFound, ValidationFailed
from zeropools.domain.paging import Page
from zeropools.representations import objects as views
from zeropools.services import adjustments, events, support, trading
from zeropools.services.context import Ctx, Deployment

JSON = dict[str, Any]


def packet(dep: Deployment, ctx: Ctx, partner_id: str | None = None, **ids: str) -> JSON:
    found = support.support_packet(dep, ctx, partner_id=partner_id, ids=ids)
    return views.support_packet(found, dep.currencies)


def story(dep: Deployment) -> tuple[Book, dict[str, Any]]:
    book = Book.open(dep)
    book.fund("100.00", at(9))
    refused_quote = trading.create_quote(
        dep,
        book.server(at(9, 10)),
        pool_id="EUR-USDT",
        source_amount="150.00",
        partner_order_id="o-1",
    )
    with pytest.raises(InsufficientBalance):
        trading.execute_trade(
            dep,
            book.server(at(9, 10, 5)),
            quote_id=refused_quote.quote.id,
            partner_order_id="o-1",
        )
    book.fund("500.00", at(9, 20))
    trade = book.trade("150.00", "o-1", at(9, 30))
    settle = ctx_for("operator", now=at(9, 40))
    trading.move_trade(dep, settle, trade.id, "settled")
    back = ctx_for("operator", now=at(10))
    trading.move_trade(dep, back, trade.id, "returned", reason="the wallet bounced it")
    return book, {
        "trade": trade,
        "refused_quote": refused_quote.quote,
        "settle_request": settle.request_id,
        "return_request": back.request_id,
    }


def test_every_id_of_a_trades_story_gives_the_same_packet_naming_the_whole_chain(
    dep: Deployment,
) -> None:
    book, s = story(dep)
    trade = s["trade"]
    admin = book.admin()
    told = packet(dep, admin, trade_id=trade.id)

    assert told["id"] == f"sp_{trade.id}" and told["story"] == "trade"
    assert (told["trade_id"], told["transact_id"], told["quote_id"]) == (
        trade.id,
        trade.id,
        trade.quote_id,
    )
    assert (told["partner_order_id"], told["pool_id"], told["trade_status"]) == (
        "o-1",
        "EUR-USDT",
        "returned",
    )
    assert told["funding_reference"] == book.reference
    assert told["balance_delta"] == "0.00"  # debited, then returned
    assert [e["type"] for e in told["entries"]] == ["buy_debit", "buy_return"]
    assert told["ledger_entry_id"] == told["entries"][0]["id"]
    assert told["request_id"] == trade.request_id
    assert told["quote_ids"] == [s["refused_quote"].id, trade.quote_id]
    assert len(told["refusal_ids"]) == 1
    kinds = [(item["kind"], item["summary"].split(" ")[0]) for item in told["timeline"]]
    assert ("refusal", "insufficient_balance:") in kinds
    assert [k for k, _ in kinds].count("entry") == 2 and [k for k, _ in kinds].count("event") == 4
    stamps = [(item["at"], item["kind"]) for item in told["timeline"]]
    assert [at_ for at_, _ in stamps] == sorted(at_ for at_, _ in stamps)
    debit = next(i for i in told["timeline"] if i["id"] == told["entries"][0]["id"])
    assert "available 600.00 -> 450.00" in debit["summary"]
    stream = events.list_events(
        dep, admin, partner_id=None, after_sequence=0, types=[], page=Page.of(100)
    )
    trade_events = [e.id for e in stream if e.type.startswith("trade.")]
    assert sorted(told["event_ids"]) == sorted(trade_events)
    requests = told["request_ids"]
    assert {s["settle_request"], s["return_request"], trade.request_id} <= set(requests)
    assert s["refused_quote"].request_id in requests and len(requests) == 6

    ways = {
        "quote_id": [trade.quote_id, s["refused_quote"].id],
        "partner_order_id": ["o-1"],
        "ledger_entry_id": [e["id"] for e in told["entries"]],
        "request_id": requests,
    }
    for name, values in ways.items():
        for value in values:
            assert packet(dep, admin, **{name: value}) == told, (name, value)
    assert packet(dep, book.server(), trade_id=trade.id) == told  # the backend's key too
    operator = ctx_for("operator")
    assert packet(dep, operator, trade_id=trade.id) == told
    assert packet(dep, operator, partner_id=book.partner_id, partner_order_id="o-1") == told


def test_a_funding_reference_tells_the_funding_side_and_its_ids_lead_to_it(
    dep: Deployment,
) -> None:
    book = Book.open(dep)
    first = book.fund("100.00", at(9))
    second = book.fund("250.00", at(10))
    book.recall(first.id, at(11))
    admin = book.admin()
    told = packet(dep, admin, funding_reference=book.reference)
    assert (told["story"], told["id"], told["funding_reference"]) == (
        "funding",
        f"sp_{book.reference}",
        book.reference,
    )
    assert told["payin_ids"] == [second.id, first.id]
    assert [e["type"] for e in told["entries"]] == [
        "payin_credit",
        "payin_credit",
        "payin_reversal",
    ]
    assert told["balance_delta"] == "250.00"
    assert told["ledger_entry_id"] == told["entries"][1]["id"]  # the latest credit
    assert told["trade_id"] is None and not told["truncated"]
    assert {"payin.credited", "payin.reversed"} <= {
        item["summary"].split(" ")[0] for item in told["timeline"] if item["kind"] == "event"
    }
    for name, value in [
        ("payin_id", first.id),
        ("payin_id", second.id),
        ("ledger_entry_id", told["entries"][2]["id"]),
        ("request_id", first.request_id),
    ]:
        assert packet(dep, admin, **{name: value}) == told, name


def test_an_order_that_never_traded_and_an_adjustment_have_stories_of_their_own(
    dep: Deployment,
) -> None:
    book = Book.open(dep)
    quote = trading.create_quote(
        dep,
        book.server(at(9)),
        pool_id="EUR-USDT",
        source_amount="50.00",
        partner_order_id="o-poor",
    )
    with pytest.raises(InsufficientBalance):
        trading.execute_trade(
            dep, book.server(at(9, 0, 5)), quote_id=quote.quote.id, partner_order_id="o-poor"
        )
    told = packet(dep, book.admin(), partner_order_id="o-poor")
    assert (told["story"], told["trade_id"], told["quote_id"]) == ("order", None, quote.quote.id)
    assert [item["kind"] for item in told["timeline"]].count("refusal") == 1
    assert packet(dep, book.admin(), quote_id=quote.quote.id) == told
    book.fund("10.00", at(10))
    entry = adjustments.adjust(
        dep,
        ctx_for("operator", now=at(11)),
        partner_id=book.partner_id,
        currency="EUR",
        amount="-2.50",
        reason="bank fee",
    )
    adjusted = packet(dep, book.admin(), ledger_entry_id=entry.id)
    assert (adjusted["story"], adjusted["balance_delta"], adjusted["ledger_entry_id"]) == (
        "entry",
        "-2.50",
        entry.id,
    )
    assert packet(dep, book.admin(), request_id=entry.request_id) == adjusted


def test_other_partners_ids_are_not_found_and_exactly_one_id_is_asked_for(
    dep: Deployment,
) -> None:
    book, s = story(dep)
    trade = s["trade"]
    other = Book.open(dep, name="Other")
    mine = packet(dep, book.admin(), trade_id=trade.id)
    for name, value in [
        ("trade_id", trade.id),
        ("quote_id", trade.quote_id),
        ("ledger_entry_id", mine["entries"][0]["id"]),
        ("request_id", trade.request_id),
        ("funding_reference", book.reference),
        ("partner_order_id", "o-1"),
        ("trade_id", "pt_test_nothing"),
    ]:
        with pytest.raises(NotFound):
            packet(dep, other.admin(), **{name: value})
    with pytest.raises(NotFound):
        packet(dep, book.admin(), partner_id=other.partner_id, trade_id=trade.id)
    with pytest.raises(ValidationFailed):
        packet(dep, book.admin())
    with pytest.raises(ValidationFailed):
        packet(dep, book.admin(), trade_id=trade.id, quote_id=trade.quote_id)
    with pytest.raises(ValidationFailed):
        packet(dep, ctx_for("operator"), partner_order_id="o-1")

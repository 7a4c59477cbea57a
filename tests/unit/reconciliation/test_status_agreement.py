"""Trades and pay-ins agree with their entries: what ``zeropools verify`` now also checks.

Goal: for every balance model and trade status, the entries the state machine posts satisfy
``trade_problems``; a status that claims more or less than the entries (settled without its
settlement, failed without its unwind, an unwind without its original), an amount that differs,
or an unwind linking the wrong entry is reported against the trade. Pay-ins: a credited one has
exactly its credit, a recalled one its credit and the reversal linking it, any other none.
Method: the pure ``domain.verify`` over entries built by the domain's own functions, then
edited the way a broken database would hold them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from recon_builders import a_payin, a_trade, entries_for

from zeropools.domain import ledger, trades
from zeropools.domain.ledger import Line, Links
from zeropools.domain.money import Currencies
from zeropools.domain.verify import payin_problems, trade_problems

CASES = [
    (model, status)
    for model in ("debit", "reserve")
    for status in sorted(trades.STATUSES)
    if status != trades.INITIAL_STATUS["reserve" if model == "debit" else "debit"]
]


@pytest.mark.parametrize(("model", "status"), CASES)
def test_the_entries_the_state_machine_posts_agree_with_the_status(model: str, status: str) -> None:
    trade = a_trade(status, model)
    assert trade_problems(trade, entries_for(trade)) == []


def test_a_status_claiming_other_money_than_the_entries_is_reported() -> None:
    failed = a_trade("failed", "debit")
    entries = entries_for(failed)
    assert [e.type for e in entries] == ["buy_debit", "buy_refund"]
    # the row says settled, the money says refunded
    problems = trade_problems(replace(failed, status="settled"), entries)
    assert len(problems) == 1 and "is settled but has entries" in problems[0].message
    assert problems[0].subject == failed.id and failed.id in str(problems[0])
    # failed, but the unwind is missing
    assert trade_problems(failed, entries[:1])
    # an unwind without its original
    assert trade_problems(failed, entries[1:])
    # reserve model settled without its settlement
    settled = a_trade("settled", "reserve")
    assert trade_problems(settled, entries_for(settled)[:1])


def test_an_amount_or_a_link_that_differs_is_reported_at_its_entry() -> None:
    returned = a_trade("returned", "reserve")
    entries = entries_for(returned)
    assert [e.type for e in entries] == ["trade_reserve", "trade_settle", "buy_return"]
    bigger = replace(entries[2], lines=(Line("available", 20_000), Line("platform:venue", -20_000)))
    moved = trade_problems(returned, [*entries[:2], bigger])
    assert [p.sequence for p in moved] == [bigger.sequence]
    assert "moves" in moved[0].message
    wrong_link = replace(
        entries[2], links=replace(entries[2].links, related_entry_id=entries[0].id)
    )
    linked = trade_problems(returned, [*entries[:2], wrong_link])
    assert len(linked) == 1 and "does not link the trade_settle" in linked[0].message


def test_a_payin_has_exactly_the_entries_its_status_implies() -> None:
    credit = ledger.append(
        ledger.LedgerHead("partner_123", 0, ledger.GENESIS_HASH),
        {},
        [ledger.payin_credit("EUR", 100_000, "pin_1", "REF-partner_123")],
        currencies=Currencies(),
        request_id="req_p",
        now=a_trade("debited", "debit").created_at,
    )
    entry = replace(credit.entries[0], id="ple_1")
    reversal = replace(
        entry,
        id="ple_2",
        sequence=2,
        type="payin_reversal",
        lines=(Line("available", -100_000), Line("platform:bank", 100_000)),
        links=Links(payin_id="pin_1", related_entry_id="ple_1"),
    )
    credited, recalled = a_payin("credited", True), a_payin("returned", True)
    assert payin_problems(credited, [entry]) == []
    assert payin_problems(recalled, [entry, reversal]) == []
    assert payin_problems(a_payin("pending_confirmation", False), []) == []
    assert payin_problems(a_payin("returned", False), []) == []  # never credited
    assert "expected ['payin_credit']" in payin_problems(credited, [])[0].message
    assert payin_problems(recalled, [entry])  # a recall without its reversal
    assert payin_problems(credited, [entry, reversal])  # reversed, yet the row says credited
    smaller = replace(entry, lines=(Line("platform:bank", -1), Line("available", 1)))
    assert "moves" in payin_problems(credited, [smaller])[0].message
    unlinked = replace(reversal, links=Links(payin_id="pin_1", related_entry_id="ple_9"))
    assert "does not link" in payin_problems(recalled, [entry, unlinked])[0].message

"""Invariant 5 in ``verify``: an unwind links an earlier entry, once, and never exceeds it.

Goal: ``ChainCheck`` reports a refund that links nothing it has seen, an entry unwound twice,
and a refund larger than the debit it unwinds; a correct refund passes. Method: chains built
with ``ledger.append`` (which checks only that a link is present), fed to ``ChainCheck``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from zeropools.domain import ledger
from zeropools.domain.ledger import (
    AVAILABLE,
    BUY_DEBIT,
    BUY_REFUND,
    GENESIS_HASH,
    PLATFORM_VENUE,
    EntryDraft,
    LedgerEntry,
    LedgerHead,
    Line,
    Links,
)
from zeropools.domain.money import Currencies
from zeropools.domain.verify import ChainCheck

PARTNER = "partner_01UNWINDCHECK0000000000000"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _debit(amount: int) -> EntryDraft:
    lines = (Line(AVAILABLE, -amount), Line(PLATFORM_VENUE, amount))
    return EntryDraft(BUY_DEBIT, "EUR", lines, Links(trade_id="pt_test_1"))


def _refund(amount: int, related: str) -> EntryDraft:
    lines = (Line(AVAILABLE, amount), Line(PLATFORM_VENUE, -amount))
    return EntryDraft(
        BUY_REFUND, "EUR", lines, Links(trade_id="pt_test_1", related_entry_id=related)
    )


def _chain(*drafts: EntryDraft) -> list[LedgerEntry]:
    head = LedgerHead(PARTNER, 0, GENESIS_HASH)
    funding = ledger.payin_credit("EUR", 100_000, "pin_1", None)
    posting = ledger.append(
        head, {}, [funding, *drafts], currencies=Currencies(), request_id="req_u", now=NOW
    )
    return list(posting.entries)


def _problems(entries: list[LedgerEntry]) -> list[str]:
    check = ChainCheck(PARTNER, Currencies())
    return [problem.message for entry in entries for problem in check.feed(entry)]


def _linked_chain(refunds: list[int], debit: int = 2_500) -> list[LedgerEntry]:
    """A chain whose refunds link its own debit (ids are made inside ``append``)."""
    first = _chain(_debit(debit))
    head = LedgerHead(PARTNER, first[-1].sequence, first[-1].hash)
    balances = {"EUR": ledger.Balance(100_000 - debit, 0)}
    more = ledger.append(
        head,
        balances,
        [_refund(amount, first[1].id) for amount in refunds],
        currencies=Currencies(),
        request_id="req_u",
        now=NOW,
    )
    return first + list(more.entries)


def test_a_refund_of_its_own_debit_is_sound() -> None:
    assert _problems(_linked_chain([2_500])) == []


def test_a_refund_linking_nothing_seen_is_reported() -> None:
    entries = _chain(_debit(2_500), _refund(2_500, "ple_NOWHERE"))
    assert any("not an earlier" in message for message in _problems(entries))


def test_an_entry_unwound_twice_is_reported() -> None:
    problems = _problems(_linked_chain([1_000, 1_000]))
    assert len(problems) == 1 and "not an earlier, not yet unwound" in problems[0]


def test_a_refund_larger_than_its_debit_is_reported() -> None:
    problems = _problems(_linked_chain([3_000], debit=2_500))
    assert len(problems) == 1
    assert problems[0].startswith("unwinds 30.00 EUR of ple_")
    assert problems[0].endswith("'s 25.00 EUR")

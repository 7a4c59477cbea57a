"""``ChainCheck``: the replay behind ``zeropools verify``.

Goal: a healthy chain replays without a single problem, and each way stored data can be altered
after writing (an amount, a running balance, a missing entry, a broken link, a stale head, a
stored balance that disagrees with the entries) is reported, naming the entry or the head.

Method: build a real chain with ``ledger.append``, then feed ``ChainCheck`` either the chain
itself or a copy with exactly one field changed (as a tampering database user would), and read
the problems it reports.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from zeropools.domain import ledger
from zeropools.domain.ledger import (
    AVAILABLE,
    BUY_DEBIT,
    GENESIS_HASH,
    PLATFORM_VENUE,
    Balance,
    EntryDraft,
    LedgerEntry,
    LedgerHead,
    Line,
    Links,
    Posting,
)
from zeropools.domain.money import Currencies
from zeropools.domain.verify import ChainCheck, Problem

PARTNER = "partner_01CHAINCHECK00000000000000"


def healthy_chain() -> Posting:
    drafts = [ledger.payin_credit("EUR", 100_000, f"pin_{i}", None) for i in range(3)]
    drafts.append(
        EntryDraft(
            BUY_DEBIT,
            "EUR",
            (Line(AVAILABLE, -25_000), Line(PLATFORM_VENUE, 25_000)),
            Links(trade_id="pt_test_1"),
        )
    )
    drafts.append(ledger.payin_credit("USD", 700, "pin_usd", None))
    return ledger.append(
        LedgerHead(PARTNER, 0, GENESIS_HASH),
        {},
        drafts,
        currencies=Currencies(),
        request_id="req_chain",
        now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )


def replay(
    entries: list[LedgerEntry], head: LedgerHead, stored: dict[str, Balance]
) -> list[Problem]:
    check = ChainCheck(PARTNER, Currencies())
    problems: list[Problem] = []
    for entry in entries:
        problems += check.feed(entry)
    return problems + check.finish(head, stored)


def replay_tampered(posting: Posting, index: int, **changes: Any) -> list[Problem]:
    """Replay ``posting`` with the fields ``changes`` of ``entries[index]`` altered in place."""
    entries = list(posting.entries)
    entries[index] = replace(entries[index], **changes)
    return replay(entries, posting.head, dict(posting.balances))


def messages(problems: list[Problem]) -> str:
    return "\n".join(str(problem) for problem in problems)


def test_a_healthy_chain_replays_without_problems() -> None:
    posting = healthy_chain()
    check = ChainCheck(PARTNER)
    for entry in posting.entries:
        assert check.feed(entry) == []
    assert check.finish(posting.head, dict(posting.balances)) == []
    assert check.entries == 5
    assert check.balances == {"EUR": Balance(275_000, 0), "USD": Balance(700, 0)}


def test_a_currency_without_entries_and_a_zero_stored_balance_is_not_a_problem() -> None:
    posting = healthy_chain()
    stored = {**posting.balances, "GBP": Balance()}
    assert replay(list(posting.entries), posting.head, stored) == []


def test_a_changed_amount_is_reported_on_that_entry() -> None:
    posting = healthy_chain()
    problems = replay_tampered(posting, 1, amount_minor=999_999)
    assert {problem.sequence for problem in problems} == {2}
    text = messages(problems)
    assert "hash does not match" in text
    assert "amount 9999.99 EUR differs from its lines (1000.00 EUR)" in text


def test_a_changed_available_after_is_reported_as_a_running_balance_mismatch() -> None:
    posting = healthy_chain()
    problems = replay_tampered(posting, 2, available_after_minor=1)
    assert {problem.sequence for problem in problems} == {3}
    text = messages(problems)
    assert "available_after 3000.00 EUR by the journal lines, stored 0.01 EUR" in text
    assert "hash does not match" in text


def test_altered_lines_with_a_recomputed_hash_still_break_the_chain() -> None:
    # A forger who recomputes the altered entry's hash breaks the next entry's prev_hash.
    posting = healthy_chain()
    entries = list(posting.entries)
    forged = replace(entries[0], lines=(Line("platform:bank", -1), Line(AVAILABLE, 1)))
    forged = replace(forged, amount_minor=1, available_after_minor=1)
    forged = replace(forged, hash=ledger.chain_hash(forged.prev_hash, forged.hash_payload()))
    entries[0] = forged
    problems = replay(entries, posting.head, dict(posting.balances))
    by_sequence = {problem.sequence for problem in problems}
    assert 2 in by_sequence
    assert "prev_hash does not match" in messages(problems)


def test_a_missing_entry_is_a_sequence_gap() -> None:
    posting = healthy_chain()
    entries = [entry for entry in posting.entries if entry.sequence != 3]
    problems = replay(entries, posting.head, dict(posting.balances))
    text = messages(problems)
    assert "sequence gap: expected 3, found 4" in text
    assert "prev_hash does not match" in text
    assert any(problem.sequence is None and problem.field == "available" for problem in problems)


def test_a_duplicated_entry_is_a_sequence_gap() -> None:
    posting = healthy_chain()
    entries = [*posting.entries[:2], posting.entries[1], *posting.entries[2:]]
    assert "sequence gap: expected 3, found 2" in messages(
        replay(entries, posting.head, dict(posting.balances))
    )


def test_a_broken_prev_hash_is_reported() -> None:
    posting = healthy_chain()
    problems = replay_tampered(posting, 3, prev_hash="f" * 64)
    text = messages(problems)
    assert "(#4): prev_hash does not match the previous entry's hash" in text


def test_a_head_that_does_not_match_the_last_entry_is_reported() -> None:
    posting = healthy_chain()
    entries = list(posting.entries)
    for head in (
        replace(posting.head, sequence=6),
        replace(posting.head, hash="0" * 64),
        replace(posting.head, sequence=4, hash=entries[3].hash),
    ):
        problems = replay(entries, head, dict(posting.balances))
        assert len(problems) == 1
        assert problems[0].sequence is None
        assert "stored head" in problems[0].message
        assert str(problems[0]).startswith(f"{PARTNER} head:")


def test_a_truncated_chain_is_caught_by_the_head() -> None:
    posting = healthy_chain()
    problems = replay(list(posting.entries[:-1]), posting.head, dict(posting.balances))
    text = messages(problems)
    assert "stored head #5 does not match the last entry #4" in text
    assert "balance USD: available 0.00 USD by the entries, stored 7.00 USD" in text


def test_a_stored_balance_that_differs_from_the_entries_is_reported() -> None:
    posting = healthy_chain()
    stored = {**posting.balances, "EUR": Balance(275_001, 0)}
    problems = replay(list(posting.entries), posting.head, stored)
    assert [str(problem) for problem in problems] == [
        f"{PARTNER} balance EUR: available 2750.00 EUR by the entries, stored 2750.01 EUR"
    ]


def test_a_stored_balance_for_a_currency_without_entries_is_reported() -> None:
    posting = healthy_chain()
    stored = {**posting.balances, "GBP": Balance(1, 0)}
    problems = replay(list(posting.entries), posting.head, stored)
    assert "balance GBP: available 0.00 GBP by the entries, stored 0.01 GBP" in messages(problems)


def test_an_entry_that_would_leave_the_balance_negative_is_reported() -> None:
    # Forge a debit larger than the balance, hash and all: only the replay sees it.
    posting = healthy_chain()
    last = posting.entries[-1]
    overdraft = ledger.LedgerEntry(
        id="ple_forged",
        partner_id=PARTNER,
        sequence=last.sequence + 1,
        type=BUY_DEBIT,
        currency="USD",
        amount_minor=-800,
        available_after_minor=-100,
        reserved_after_minor=0,
        lines=(Line(AVAILABLE, -800), Line(PLATFORM_VENUE, 800)),
        links=Links(trade_id="pt_test_2"),
        reason=None,
        request_id="req_forged",
        created_at=last.created_at,
        prev_hash=last.hash,
        hash="",
    )
    overdraft = replace(overdraft, hash=ledger.chain_hash(last.hash, overdraft.hash_payload()))
    check = ChainCheck(PARTNER)
    for entry in posting.entries:
        assert check.feed(entry) == []
    assert [problem.message for problem in check.feed(overdraft)] == ["balance went negative"]

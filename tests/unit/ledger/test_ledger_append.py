"""``ledger.append``: the only way entries come into being.

Goal: every posting is a zero-sum journal, entries chain by gap-free sequence and sha256 hash,
the hash can be recomputed from the stored fields alone, and a posting that would overdraw
``available`` is refused with the decimal-string details API.md promises. The product brief's
example ledger sequence reproduces exactly.

Method: pure calls of ``append`` with hand-built drafts (payin_credit from the helper, trade
drafts with the lines API.md's "Balance semantics" table gives for the debit model), checking
every returned entry, head and balance.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from zeropools.domain import ledger
from zeropools.domain.errors import InsufficientBalance
from zeropools.domain.ledger import (
    AVAILABLE,
    BUY_DEBIT,
    BUY_REFUND,
    GENESIS_HASH,
    PLATFORM_VENUE,
    RESERVED,
    TRADE_RESERVE,
    Balance,
    EntryDraft,
    LedgerEntry,
    LedgerHead,
    Line,
    Links,
    Posting,
)
from zeropools.domain.money import Currencies

PARTNER = "partner_01TESTPARTNER0000000000000"
CURRENCIES = Currencies()
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HEX64 = re.compile(r"[0-9a-f]{64}")


def genesis() -> LedgerHead:
    return LedgerHead(PARTNER, 0, GENESIS_HASH)


def credit(amount_minor: int, currency: str = "EUR", payin: str = "pin_1") -> EntryDraft:
    return ledger.payin_credit(currency, amount_minor, payin, "RF18ZP23456789ABCD")


def buy_debit(amount_minor: int, trade_id: str) -> EntryDraft:
    return EntryDraft(
        type=BUY_DEBIT,
        currency="EUR",
        lines=(Line(AVAILABLE, -amount_minor), Line(PLATFORM_VENUE, amount_minor)),
        links=Links(trade_id=trade_id, partner_order_id=f"order_{trade_id}"),
    )


def buy_refund(amount_minor: int, trade_id: str, debit_entry_id: str) -> EntryDraft:
    return EntryDraft(
        type=BUY_REFUND,
        currency="EUR",
        lines=(Line(AVAILABLE, amount_minor), Line(PLATFORM_VENUE, -amount_minor)),
        links=Links(trade_id=trade_id, related_entry_id=debit_entry_id),
    )


def run(
    drafts: list[EntryDraft],
    head: LedgerHead | None = None,
    balances: dict[str, Balance] | None = None,
    now: datetime = T0,
) -> Posting:
    return ledger.append(
        head or genesis(),
        balances or {},
        drafts,
        currencies=CURRENCIES,
        request_id="req_test",
        now=now,
    )


def test_every_journal_sums_to_zero_and_touches_the_partner() -> None:
    posting = run([credit(100_000), buy_debit(10_000, "pt_test_1"), credit(5, payin="pin_2")])
    for entry in posting.entries:
        assert sum(line.amount_minor for line in entry.lines) == 0
        assert any(line.account in ledger.PARTNER_ACCOUNTS for line in entry.lines)
    # per currency, all accounts (partner + platform) sum to zero over the whole posting
    total = sum(line.amount_minor for entry in posting.entries for line in entry.lines)
    assert total == 0


def test_entries_chain_by_sequence_and_prev_hash_from_genesis() -> None:
    posting = run([credit(100, payin=f"pin_{i}") for i in range(5)])
    assert [entry.sequence for entry in posting.entries] == [1, 2, 3, 4, 5]
    assert posting.entries[0].prev_hash == GENESIS_HASH
    for before, after in zip(posting.entries, posting.entries[1:], strict=False):
        assert after.prev_hash == before.hash
    assert posting.head == LedgerHead(PARTNER, 5, posting.entries[-1].hash)
    assert len({entry.id for entry in posting.entries}) == 5
    assert all(entry.id.startswith("ple_") for entry in posting.entries)


def test_a_second_posting_continues_the_chain_of_the_first() -> None:
    first = run([credit(100)])
    second = run([credit(200, payin="pin_2")], head=first.head, balances=dict(first.balances))
    assert second.entries[0].sequence == 2
    assert second.entries[0].prev_hash == first.entries[0].hash
    assert second.balances["EUR"] == Balance(300, 0)


def test_the_hash_is_sha256_of_prev_hash_and_canonical_json_of_the_entry() -> None:
    posting = run([credit(100_000), buy_debit(100, "pt_test_1")])
    for entry in posting.entries:
        assert HEX64.fullmatch(entry.hash)
        payload = entry.hash_payload()
        assert "hash" not in payload and "prev_hash" not in payload
        canonical = ledger.canonical_json(payload)
        assert canonical == ledger.canonical_json(dict(reversed(list(payload.items()))))
        assert " " not in canonical.replace("req_test", "")  # no separators with spaces
        expected = hashlib.sha256((entry.prev_hash + canonical).encode()).hexdigest()
        assert entry.hash == expected == ledger.chain_hash(entry.prev_hash, payload)


def test_changing_any_hashed_field_changes_the_hash() -> None:
    entry = run([credit(100_000)]).entries[0]
    variants: list[LedgerEntry] = [
        replace(entry, amount_minor=entry.amount_minor + 1),
        replace(entry, available_after_minor=1),
        replace(entry, created_at="2026-11-23T09:00:00.000001Z"),
        replace(entry, request_id="req_other"),
        replace(entry, links=replace(entry.links, payin_id="pin_other")),
        replace(entry, currency="USD"),
        replace(entry, links=replace(entry.links, funding_reference="RF00")),
    ]
    for variant in variants:
        assert ledger.chain_hash(variant.prev_hash, variant.hash_payload()) != entry.hash


def test_chain_version_2_hashes_the_export_row_and_version_1_also_the_journal_lines() -> None:
    # docs/ledger-hash.md: version 2 covers what a partner's export shows (so it can recompute
    # it); the journal lines and reason are internal, checked against the amounts by verify.
    entry = run([credit(100_000)]).entries[0]
    assert entry.hash_version == ledger.HASH_VERSION == 2
    other_lines = replace(
        entry, lines=(Line("platform:suspense", -100_000), Line(AVAILABLE, 100_000))
    )
    assert ledger.chain_hash(entry.prev_hash, other_lines.hash_payload()) == entry.hash
    old = replace(entry, hash_version=1)
    old = replace(old, hash=ledger.chain_hash(old.prev_hash, old.hash_payload()))
    changed = replace(old, lines=other_lines.lines)
    assert ledger.chain_hash(changed.prev_hash, changed.hash_payload()) != old.hash


def test_entries_record_signed_amount_balances_after_links_request_and_time() -> None:
    posting = run([credit(100_000), buy_debit(10_000, "pt_test_1")])
    credit_entry, debit_entry = posting.entries
    assert (credit_entry.type, credit_entry.amount_minor) == ("payin_credit", 100_000)
    assert credit_entry.links.payin_id == "pin_1"
    assert credit_entry.links.funding_reference == "RF18ZP23456789ABCD"
    assert (debit_entry.amount_minor, debit_entry.available_after_minor) == (-10_000, 90_000)
    assert debit_entry.links.trade_id == "pt_test_1"
    assert all(entry.request_id == "req_test" for entry in posting.entries)
    assert all(entry.created_at == "2026-11-23T09:00:00.000000Z" for entry in posting.entries)
    assert posting.balances == {"EUR": Balance(90_000, 0)}


def test_a_reserve_moves_money_from_available_to_reserved() -> None:
    funded = run([credit(100_000)])
    reserve = EntryDraft(
        type=TRADE_RESERVE,
        currency="EUR",
        lines=(Line(AVAILABLE, -10_000), Line(RESERVED, 10_000)),
        links=Links(trade_id="pt_test_1"),
    )
    posting = run([reserve], head=funded.head, balances=dict(funded.balances))
    entry = posting.entries[0]
    assert (entry.available_after_minor, entry.reserved_after_minor) == (90_000, 10_000)
    assert entry.amount_minor == -10_000
    assert posting.balances["EUR"].total_minor == 100_000


def test_balances_are_kept_per_currency() -> None:
    posting = run([credit(100_000), credit(7, currency="USDT", payin="pin_2")])
    assert posting.balances == {"EUR": Balance(100_000, 0), "USDT": Balance(7, 0)}
    assert posting.entries[1].available_after_minor == 7


def test_an_overdraft_is_refused_with_decimal_string_details() -> None:
    funded = run([credit(5_000)])
    with pytest.raises(InsufficientBalance) as caught:
        run([buy_debit(10_000, "pt_test_1")], head=funded.head, balances=dict(funded.balances))
    error = caught.value
    assert error.code == "insufficient_balance"
    assert error.extra == {
        "currency": "EUR",
        "requested": "100.00",
        "available": "50.00",
        "shortfall": "50.00",
    }
    assert "50.00" in error.detail and "100.00" in error.detail


def test_an_overdraft_on_an_empty_ledger_reports_zero_available() -> None:
    with pytest.raises(InsufficientBalance) as caught:
        run([buy_debit(1, "pt_test_1")])
    assert caught.value.extra["available"] == "0.00"
    assert caught.value.extra["shortfall"] == "0.01"


def test_one_refused_draft_refuses_the_whole_batch() -> None:
    with pytest.raises(InsufficientBalance) as caught:
        run([credit(100), buy_debit(50, "pt_1"), buy_debit(51, "pt_2")])
    # the third draft saw the running balance after the first two
    assert caught.value.extra == {
        "currency": "EUR",
        "requested": "0.51",
        "available": "0.50",
        "shortfall": "0.01",
    }


def test_spending_exactly_the_available_balance_is_allowed() -> None:
    posting = run([credit(100), buy_debit(100, "pt_1")])
    assert posting.balances["EUR"] == Balance(0, 0)


def test_unsound_journals_are_bugs_caught_before_writing() -> None:
    unbalanced = EntryDraft("payin_credit", "EUR", (Line(AVAILABLE, 5),), Links(payin_id="p"))
    debit_without_trade = EntryDraft(
        BUY_DEBIT, "EUR", (Line(AVAILABLE, -5), Line(PLATFORM_VENUE, 5))
    )
    refund_unlinked = buy_refund(5, "pt_1", debit_entry_id="")
    for draft in (unbalanced, debit_without_trade, refund_unlinked):
        with pytest.raises(AssertionError):
            run([credit(100), draft])


def test_the_product_brief_example_sequence_reproduces_exactly() -> None:
    # PRODUCT-BRIEF "Example ledger sequence" / API.md "Balance semantics", debit model.
    first = run([credit(100_000)], now=T0)
    debit1 = run(
        [buy_debit(10_000, "pt_test_1")],
        head=first.head,
        balances=dict(first.balances),
        now=T0 + timedelta(minutes=15),
    )
    refund = run(
        [buy_refund(10_000, "pt_test_1", debit1.entries[0].id)],
        head=debit1.head,
        balances=dict(debit1.balances),
        now=T0 + timedelta(minutes=17),
    )
    debit2 = run(
        [buy_debit(25_000, "pt_test_2")],
        head=refund.head,
        balances=dict(refund.balances),
        now=T0 + timedelta(minutes=65),
    )
    entries = [*first.entries, *debit1.entries, *refund.entries, *debit2.entries]
    shown = [
        (
            entry.type,
            CURRENCIES.format(entry.amount_minor, "EUR"),
            CURRENCIES.format(entry.available_after_minor, "EUR"),
        )
        for entry in entries
    ]
    assert shown == [
        ("payin_credit", "1000.00", "1000.00"),
        ("buy_debit", "-100.00", "900.00"),
        ("buy_refund", "100.00", "1000.00"),
        ("buy_debit", "-250.00", "750.00"),
    ]
    assert [entry.sequence for entry in entries] == [1, 2, 3, 4]
    assert entries[2].links.related_entry_id == entries[1].id
    assert [entry.created_at[11:16] for entry in entries] == ["09:00", "09:15", "09:17", "10:05"]
    assert debit2.head.hash == entries[-1].hash

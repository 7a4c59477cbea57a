"""The bulk paths of ``verify`` and the export: plain stored rows instead of ``LedgerEntry``.

Goal: the shortcuts are invisible. ``export_hash_input`` is byte for byte what ``chain_hash``
hashes, ``amount_formatter`` writes what ``format_amount`` writes, ``ChainCheck.feed_rows``
reports exactly what ``feed`` reports (same problems, same state after) on a healthy chain and
on each single-field tampering, and it accepts a healthy chain without handing a single row to
the slow path (otherwise it is no faster).

Method: real chains from ``ledger.append`` (credits, a debit and its refund, a reserve and its
release, an adjustment, a recall), turned into rows in ``ENTRY_ROW_FIELDS`` order; hypothesis
for the text and amount properties.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zeropools.domain import ledger
from zeropools.domain.exports import CSV, JSONL, ExportWriter, Mark, day_window
from zeropools.domain.ledger import (
    AVAILABLE,
    BUY_DEBIT,
    BUY_REFUND,
    ENTRY_ROW_FIELDS,
    GENESIS_HASH,
    PLATFORM_VENUE,
    RESERVED,
    TRADE_RELEASE,
    TRADE_RESERVE,
    EntryDraft,
    EntryRow,
    LedgerEntry,
    LedgerHead,
    Line,
    Links,
    canonical_json,
    entry_from_values,
    export_hash_input,
    lines_to_json,
)
from zeropools.domain.money import Currencies, amount_formatter, format_amount
from zeropools.domain.verify import ChainCheck, Problem

PARTNER = "partner_01BULKROWS0000000000000000"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def row_of(entry: LedgerEntry) -> EntryRow:
    values: dict[str, Any] = {
        "partner_id": entry.partner_id,
        "sequence": entry.sequence,
        "id": entry.id,
        "type": entry.type,
        "currency": entry.currency,
        "amount_minor": entry.amount_minor,
        "available_after_minor": entry.available_after_minor,
        "reserved_after_minor": entry.reserved_after_minor,
        "lines": lines_to_json(entry.lines),
        "trade_id": entry.links.trade_id,
        "quote_id": entry.links.quote_id,
        "payin_id": entry.links.payin_id,
        "related_entry_id": entry.links.related_entry_id,
        "funding_reference": entry.links.funding_reference,
        "partner_order_id": entry.links.partner_order_id,
        "reason": entry.reason,
        "request_id": entry.request_id,
        "created_at": entry.created_at,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "hash_version": entry.hash_version,
    }
    return tuple(values[name] for name in ENTRY_ROW_FIELDS)  # type: ignore[return-value]


def chain() -> list[LedgerEntry]:
    """Every kind of link a ledger has: credits, a debit refunded, a reserve released, an
    adjustment, a recall, in two currencies."""
    currencies = Currencies()
    first = ledger.append(
        LedgerHead(PARTNER, 0, GENESIS_HASH),
        {},
        [
            ledger.payin_credit("EUR", 100_000, "pin_1", "RF18ABC"),
            ledger.payin_credit("USD", 700, "pin_2", None),
            EntryDraft(
                BUY_DEBIT,
                "EUR",
                (Line(AVAILABLE, -25_000), Line(PLATFORM_VENUE, 25_000)),
                Links(trade_id="pt_1", quote_id="pq_1", partner_order_id='o"1\\é'),
            ),
            EntryDraft(
                TRADE_RESERVE,
                "EUR",
                (Line(AVAILABLE, -5_000), Line(RESERVED, 5_000)),
                Links(trade_id="pt_2"),
            ),
        ],
        currencies=currencies,
        request_id="req_1",
        now=NOW,
    )
    credit, _, debit, reserve = first.entries
    second = ledger.append(
        first.head,
        first.balances,
        [
            EntryDraft(
                BUY_REFUND,
                "EUR",
                (Line(AVAILABLE, 25_000), Line(PLATFORM_VENUE, -25_000)),
                Links(trade_id="pt_1", related_entry_id=debit.id),
            ),
            EntryDraft(
                TRADE_RELEASE,
                "EUR",
                (Line(RESERVED, -5_000), Line(AVAILABLE, 5_000)),
                Links(trade_id="pt_2", related_entry_id=reserve.id),
            ),
            ledger.adjustment("EUR", 1, "rounding\nfix"),
            ledger.payin_reversal("EUR", 100_000, "pin_1", credit.id, "recalled"),
        ],
        currencies=currencies,
        request_id="req_2",
        now=NOW,
    )
    return [*first.entries, *second.entries]


def by_feed(entries: list[LedgerEntry]) -> tuple[list[Problem], ChainCheck]:
    check = ChainCheck(PARTNER, Currencies())
    problems: list[Problem] = []
    for entry in entries:
        problems += check.feed(entry)
    return problems, check


def by_rows(rows: list[EntryRow], batch: int) -> tuple[list[Problem], ChainCheck]:
    check = ChainCheck(PARTNER, Currencies())
    problems: list[Problem] = []
    for start in range(0, len(rows), batch):
        problems += check.feed_rows(rows[start : start + batch])
    return problems, check


def same_state(a: ChainCheck, b: ChainCheck) -> None:
    assert (a.sequence, a.prev_hash, a.entries) == (b.sequence, b.prev_hash, b.entries)
    assert a.balances == b.balances
    assert a.unwindable == b.unwindable


def test_the_hash_input_is_what_chain_hash_hashes() -> None:
    for entry in chain():
        expected = (entry.prev_hash + canonical_json(entry.export_hash_payload())).encode()
        assert export_hash_input(row_of(entry)) == expected
        assert hashlib.sha256(expected).hexdigest() == entry.hash


texts = st.text(max_size=12)


@given(
    entry_id=texts,
    request_id=texts,
    created_at=texts,
    links=st.tuples(*[st.none() | texts] * 6),
    amounts=st.tuples(*[st.integers(-(10**20), 10**20)] * 4),
)
def test_the_hash_input_matches_canonical_json_for_any_text(
    entry_id: str,
    request_id: str,
    created_at: str,
    links: tuple[str | None, ...],
    amounts: tuple[int, ...],
) -> None:
    sequence, amount, available, reserved = amounts
    entry = LedgerEntry(
        id=entry_id,
        partner_id=PARTNER,
        sequence=sequence,
        type="adjustment",
        currency="EUR",
        amount_minor=amount,
        available_after_minor=available,
        reserved_after_minor=reserved,
        lines=(),
        links=Links(*links),
        reason=None,
        request_id=request_id,
        created_at=created_at,
        prev_hash="p",
        hash="",
    )
    expected = ("p" + canonical_json(entry.export_hash_payload())).encode()
    assert export_hash_input(row_of(entry)) == expected


@given(st.integers(0, 8), st.integers(-(10**22), 10**22))
def test_the_bound_formatter_writes_what_format_amount_writes(scale: int, amount: int) -> None:
    assert amount_formatter(scale)(amount) == format_amount(amount, scale)


def test_a_healthy_chain_is_accepted_on_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = chain()
    slow: list[LedgerEntry] = []
    feed = ChainCheck.feed
    monkeypatch.setattr(ChainCheck, "feed", lambda self, e: slow.append(e) or feed(self, e))
    problems, check = by_rows([row_of(e) for e in entries], batch=3)
    assert problems == []
    assert slow == []
    monkeypatch.undo()
    same_state(check, by_feed(entries)[1])
    assert check.entries == len(entries)


def test_a_version_1_row_takes_the_slow_path_and_is_checked_the_same() -> None:
    entries = chain()
    old = replace(entries[0], hash_version=ledger.HASH_VERSION_LINES)
    old = replace(old, hash=ledger.chain_hash(old.prev_hash, old.hash_payload()))
    rest = [replace(entries[1], prev_hash=old.hash), *entries[2:]]
    expected, reference = by_feed([old, *rest])
    found, check = by_rows([row_of(e) for e in [old, *rest]], batch=4)
    assert found == expected
    same_state(check, reference)


TAMPERINGS: list[tuple[int, dict[str, Any]]] = [
    (2, {"amount_minor": -24_999}),
    (2, {"available_after_minor": 1}),
    (3, {"reserved_after_minor": 4_999}),
    (1, {"sequence": 7}),
    (4, {"prev_hash": "0" * 64}),
    (5, {"hash": "f" * 64}),
    (6, {"reason": None}),
    (0, {"type": "gift"}),
    (0, {"currency": "GBP"}),
    (2, {"links": Links()}),
    (4, {"links": Links(trade_id="pt_1", related_entry_id="ple_nowhere")}),
    (7, {"lines": (Line(AVAILABLE, -100_000), Line("platform:else", 100_000))}),
    (7, {"lines": (Line(AVAILABLE, -100_000), Line(ledger.PLATFORM_BANK, 99_999))}),
    (7, {"lines": (Line(PLATFORM_VENUE, -1), Line(ledger.PLATFORM_BANK, 1))}),
    (1, {"lines": (Line(AVAILABLE, 0), Line(AVAILABLE, 700), Line(ledger.PLATFORM_BANK, -700))}),
    (6, {"amount_minor": -1, "lines": (Line(AVAILABLE, -1), Line(PLATFORM_VENUE, 1))}),
]


@pytest.mark.parametrize(("index", "changes"), TAMPERINGS)
@pytest.mark.parametrize("batch", [1, 3, 100])
def test_a_tampered_row_is_reported_exactly_as_feed_reports_it(
    index: int, changes: dict[str, Any], batch: int
) -> None:
    entries = chain()
    entries[index] = replace(entries[index], **changes)
    expected, reference = by_feed(entries)
    assert expected, "the tampering must be one verify sees"
    found, check = by_rows([row_of(e) for e in entries], batch)
    assert found == expected
    same_state(check, reference)


def test_stored_values_of_another_type_take_the_slow_path() -> None:
    rows = [list(row_of(e)) for e in chain()]
    rows[2][5] = str(rows[2][5])  # a number stored as text (SQLite would allow it)
    rows[3][8] = "[[1, 2]]"  # lines that are not account/amount pairs
    tampered: list[EntryRow] = [tuple(row) for row in rows]  # type: ignore[misc]
    expected, reference = by_feed([entry_from_values(row) for row in tampered])
    assert expected
    found, check = by_rows(tampered, batch=4)
    assert found == expected
    same_state(check, reference)


@pytest.mark.parametrize("fmt", [CSV, JSONL])
def test_export_rows_write_the_bytes_entry_writes(fmt: str) -> None:
    entries = [e for e in chain() if e.currency == "EUR"]
    window = day_window("2026-11-23", None)

    def writer() -> ExportWriter:
        return ExportWriter(
            partner_id=PARTNER,
            currency="EUR",
            window=window,
            opening=Mark(),
            currencies=Currencies(),
            fmt=fmt,
        )

    one, bulk = writer(), writer()
    expected = b"".join(one.entry(e) for e in entries) + one.closing(None)
    rows = [row_of(e) for e in entries]
    got = bulk.rows(rows[:2]) + bulk.rows(rows[2:]) + bulk.closing(None)
    assert got == expected
    assert (bulk.position, bulk.entries) == (one.position, one.entries)

"""Matching a partner's order file against a real ledger, on both stores.

Goal: the same rows as CSV and as JSON lines give the same results; every result names its tier
and differences; the trades the file lacks come last; a file reporting a trade's final
``failed`` status acknowledges it (once: a second match acknowledges nothing new), one reporting
another status leaves it open; the ledger window is the days the file spans unless ``date`` is
given, trades just outside it may match but are never reported missing; a file that cannot be
read as a whole, or spans too many days, is refused before anything is acknowledged; a file
made from the ledger's own rows matches entirely by id.
Method: a day laid out through the services on a fixed clock, ``services.matching.match_file``
over in-memory files; SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from recon_support import DAY_BEFORE, Book, at

from zeropools.domain.errors import ValidationFailed
from zeropools.domain.matching import MatchResult, RowError
from zeropools.domain.paging import Page
from zeropools.services import matching, reconciliation
from zeropools.services.context import Deployment

HEADER = ["partner_order_id", "amount", "currency", "created_at", "trade_id", "quote_id", "status"]


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    lines = [",".join(HEADER)]
    lines += [",".join(str(row.get(name) or "") for name in HEADER) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def as_json_lines(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def run(
    dep: Deployment, book: Book, data: bytes, media_type: str, **options: Any
) -> tuple[matching.MatchRun, list[MatchResult | RowError]]:
    found = matching.match_file(
        dep,
        book.admin(at(20)),
        partner_id=None,
        file=io.BytesIO(data),
        media_type=media_type,
        **options,
    )
    return found, list(found.items())


def day(dep: Deployment) -> tuple[Book, dict[str, Any]]:
    book = Book.open(dep)
    book.fund("1000.00", at(9))
    trades = {
        "settled": book.trade("100.00", "o-settled", at(9, 15)),
        "failed": book.trade("50.00", "o-failed", at(10)),
        "returned": book.trade("25.00", "o-returned", at(11)),
        "open": book.trade("20.00", "o-open", at(14)),
        "lacking": book.trade("30.00", "o-lacking", at(15)),
    }
    book.move(trades["settled"].id, "settled", at(9, 20))
    book.move(trades["failed"].id, "failed", at(10, 5))
    book.move(trades["returned"].id, "settled", at(11, 5))
    book.move(trades["returned"].id, "returned", at(12))
    return book, trades


def partner_file(trades: dict[str, Any]) -> list[dict[str, Any]]:
    """The partner's own books: their ids for some, ours for others, one typo, one bad row."""
    return [
        {
            "partner_order_id": "o-settled",
            "amount": "100.00",
            "currency": "EUR",
            "created_at": "2026-11-23T09:15:01Z",
            "trade_id": trades["settled"].id,
            "status": "settled",
        },
        {
            "partner_order_id": "o-failed",
            "amount": "50",
            "currency": "EUR",
            "created_at": "2026-11-23T10:00:03+00:00",
            "status": "failed",
        },
        {  # their own order number: matched by amount and time
            "partner_order_id": "ACME-7781",
            "amount": "25.00",
            "currency": "EUR",
            "created_at": "2026-11-23T11:02:00Z",
            "status": "settled",  # they missed the return: a mismatch, the row stays open
        },
        {
            "partner_order_id": "o-open",
            "amount": "21.00",  # a conflicting amount
            "currency": "EUR",
            "created_at": "2026-11-23T14:00:00Z",
            "quote_id": trades["open"].quote_id,
        },
        {"partner_order_id": "o-bad", "amount": "-1", "currency": "EUR", "created_at": "x"},
        {
            "partner_order_id": "o-phantom",
            "amount": "99.00",
            "currency": "EUR",
            "created_at": "2026-11-23T16:00:00Z",
        },
    ]


def outcomes(results: list[MatchResult | RowError], header_lines: int) -> list[tuple[Any, ...]]:
    """What a match said of each line (numbered from the first data line), acknowledgement
    aside: comparable between a CSV file (one header line) and JSON lines (none)."""
    found: list[tuple[Any, ...]] = []
    for r in results:
        if isinstance(r, RowError):
            found.append(("bad row", r.line - header_lines, r.field))
            continue
        line = None if r.line is None else r.line - header_lines
        differences = tuple((d.field, d.file, d.ledger) for d in r.differences)
        found.append((line, r.trade_id, r.outcome, r.tier, differences, r.duplicate_of_line))
    return found


def test_a_partner_file_matches_by_tier_the_same_as_csv_and_as_json_lines(
    dep: Deployment,
) -> None:
    book, trades = day(dep)
    rows = partner_file(trades)
    first, from_csv = run(dep, book, as_csv(rows), "text/csv")
    assert [(r.line, r.outcome, r.tier) for r in from_csv if isinstance(r, MatchResult)] == [
        (2, "matched", "id"),
        (3, "matched", "id"),
        (4, "mismatched", "amount_time"),
        (5, "mismatched", "id"),
        (7, "missing_in_ledger", None),
        (None, "missing_in_file", None),
    ]
    by_line = {r.line: r for r in from_csv}
    returned = by_line[4]
    assert isinstance(returned, MatchResult) and returned.trade_id == trades["returned"].id
    assert [(d.field, d.file, d.ledger) for d in returned.differences] == [
        ("status", "settled", "returned"),
        ("partner_order_id", "ACME-7781", "o-returned"),
    ]
    conflicting = by_line[5]
    assert isinstance(conflicting, MatchResult)
    assert [(d.field, d.file, d.ledger) for d in conflicting.differences] == [
        ("amount", "21.00", "20.00")
    ]
    bad = by_line[6]
    assert isinstance(bad, RowError) and bad.field == "amount"
    lacking = from_csv[-1]
    assert isinstance(lacking, MatchResult) and lacking.trade_id == trades["lacking"].id
    assert by_line[3].acknowledged  # type: ignore[union-attr]
    summary = first.summary
    assert (summary.rows_read, summary.invalid, summary.acknowledged) == (6, 1, 1)
    assert (summary.counts.matched, summary.counts.mismatched) == (2, 2)
    assert (summary.counts.missing_in_ledger, summary.counts.missing_in_file) == (1, 1)
    assert summary.window_from == "2026-11-23T00:00:00.000000Z"
    # the same rows as JSON lines: the same results (the CSV's lines shift by its header)
    again, from_json = run(dep, book, as_json_lines(rows), "application/x-ndjson")
    assert outcomes(from_json, header_lines=0) == outcomes(from_csv, header_lines=1)
    assert again.summary.counts == summary.counts
    assert again.summary.acknowledged == 0  # the first match acknowledged the failure


def test_a_final_status_in_the_file_acknowledges_and_any_other_leaves_the_row_open(
    dep: Deployment,
) -> None:
    book, trades = day(dep)
    run(dep, book, as_csv(partner_file(trades)), "text/csv")
    found = reconciliation.list_rows(
        dep,
        book.admin(),
        partner_id=None,
        date="2026-11-23",
        tz=None,
        state="open",
        pool_id=None,
        page=Page.of(100),
    )
    assert [row.id for row in found] == [
        trades["lacking"].id,
        trades["open"].id,
        trades["returned"].id,
    ]
    failed = reconciliation.list_rows(
        dep,
        book.admin(),
        partner_id=None,
        date="2026-11-23",
        tz=None,
        state="reconciled",
        pool_id=None,
        page=Page.of(100),
    )
    ack = next(row for row in failed if row.id == trades["failed"].id).acknowledgement
    assert ack is not None and ack.source == "match" and "line 3" in ack.note


def test_the_window_is_the_files_days_and_trades_beyond_it_are_never_missing(
    dep: Deployment,
) -> None:
    book = Book.open(dep)
    book.fund("1000.00", at(9, day=DAY_BEFORE))
    late = book.trade("10.00", "late", at(23, 58, day=DAY_BEFORE))
    early = book.trade("11.00", "early", at(0, 1))
    rows = [
        {
            "partner_order_id": "theirs-1",
            "amount": "10.00",
            "currency": "EUR",
            "created_at": "2026-11-23T00:00:30Z",  # their clock is behind ours
        }
    ]
    _, results = run(dep, book, as_csv(rows), "text/csv")
    assert [(r.trade_id, r.outcome) for r in results if isinstance(r, MatchResult)] == [
        (late.id, "matched"),  # the day before, within the tolerance
        (early.id, "missing_in_file"),
    ]
    _, strict = run(dep, book, as_csv(rows), "text/csv", tolerance_s=0)
    assert [(r.trade_id, r.outcome) for r in strict if isinstance(r, MatchResult)] == [
        (None, "missing_in_ledger"),
        (early.id, "missing_in_file"),
    ]
    _, before = run(dep, book, as_csv(rows), "text/csv", date="2026-11-22")
    assert [(r.trade_id, r.outcome) for r in before if isinstance(r, MatchResult)] == [
        (late.id, "matched")
    ]


def test_a_file_that_cannot_be_read_or_spans_too_many_days_is_refused_whole(
    dep: Deployment,
) -> None:
    book, trades = day(dep)
    with pytest.raises(ValidationFailed) as no_header:
        run(dep, book, b"order,amount\nx,1\n", "text/csv")
    assert no_header.value.extra["line"] == 1
    wide = [
        {"partner_order_id": "a", "amount": "1.00", "currency": "EUR", "created_at": when}
        for when in ("2026-01-01T00:00:00Z", "2026-11-23T00:00:00Z")
    ]
    with pytest.raises(ValidationFailed, match="date"):
        run(dep, book, as_json_lines(wide), "application/x-ndjson")
    with pytest.raises(ValidationFailed):
        run(dep, book, as_csv(partner_file(trades)), "text/csv", tolerance_s=-1)
    # nothing was acknowledged by the refused files
    rows = reconciliation.list_rows(
        dep,
        book.admin(),
        partner_id=None,
        date="2026-11-23",
        tz=None,
        state="open",
        pool_id=None,
        page=Page.of(100),
    )
    assert trades["failed"].id in {row.id for row in rows}


def test_a_file_made_from_the_ledgers_own_rows_matches_entirely_by_id(dep: Deployment) -> None:
    book, _ = day(dep)
    ledger_rows = reconciliation.list_rows(
        dep,
        book.admin(),
        partner_id=None,
        date="2026-11-23",
        tz=None,
        state=None,
        pool_id=None,
        page=Page.of(100),
    )
    own = [
        {
            "partner_order_id": row.partner_order_id,
            "amount": _decimal(row.amount_minor),
            "currency": row.currency,
            "created_at": row.created_at,
            "trade_id": row.trade_id,
            "status": row.trade_status,
        }
        for row in ledger_rows
        if row.kind == "trade"
    ]
    found, results = run(dep, book, as_json_lines(own), None)
    assert found.summary.format == "jsonl"  # sniffed
    assert {(r.outcome, r.tier) for r in results if isinstance(r, MatchResult)} == {
        ("matched", "id")
    }
    assert found.summary.counts.matched == len(own) == 5


def _decimal(amount_minor: int | None) -> str:
    assert amount_minor is not None
    whole, cents = divmod(amount_minor, 100)
    return f"{whole}.{cents:02d}"

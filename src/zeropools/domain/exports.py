"""The finance export of one partner, currency and day: rows in, bytes out, checked as it goes.

What: an opening row, the day's entries in sequence order, a closing row, as CSV (the header of
API.md) or JSON lines. Why pure: the same rows must give the same bytes on every run (a closed
day's export is frozen, its sha256 stored), and a million-entry day must pass through in bounded
memory, so the writer keeps only the running position (``Mark``), never the rows.

Contract of ``ExportWriter``:

- ``opening()`` first, then ``entry(e)`` per entry in sequence order, then ``closing(seal)``;
  each returns the bytes of its row.
- Roll-forward is checked on every entry: the balances before it plus its journal's partner
  deltas must equal its stored ``available_after``/``reserved_after``, sequences must rise, and
  an entry that directly follows the previous one in the partner's chain must link its hash.
  Any difference raises ``RollForwardBroken`` before its row is written, so a caller streaming
  the bytes aborts rather than sends a wrong file.
- ``closing(seal, expected=...)`` refuses a closing position that differs from the one a closed
  period recorded.

Opening and closing rows (CSV): ``id`` is the partner id, ``type`` the currency, ``created_at``
the day's bound (UTC), ``sequence``/``hash`` the currency's last entry at that bound (0 and
empty when there is none), the balances in ``available_after``/``reserved_after``; the closing
row of a closed day carries ``checkpoint``, ``signature`` and ``signing_key_id``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime, time, timedelta
from operator import lt
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zeropools.domain import limits
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import ValidationFailed
from zeropools.domain.ledger import (
    AVAILABLE,
    CANONICAL_ENCODER,
    RESERVED,
    EntryRow,
    LedgerEntry,
    canonical_json,
    lines_value,
    partner_deltas,
)
from zeropools.domain.money import Currencies, amount_formatter

CSV = "csv"
JSONL = "jsonl"
FORMATS = (CSV, JSONL)
MEDIA_TYPES = {CSV: "text/csv; charset=utf-8", JSONL: "application/x-ndjson"}

CSV_HEADER = (
    "row_type",
    "id",
    "sequence",
    "created_at",
    "type",
    "amount",
    "available_after",
    "reserved_after",
    "trade_id",
    "quote_id",
    "payin_id",
    "related_entry_id",
    "partner_order_id",
    "funding_reference",
    "request_id",
    "hash",
    "prev_hash",
    "checkpoint",
    "signature",
    "signing_key_id",
)
UTC_TZ = "UTC"

# A CSV entry row the database rendered (``rendered``): its line, and what the roll-forward
# check needs of it: sequence, prev_hash, hash, the stored balances after it, and the balances
# its journal implies before it (stored after minus the journal's partner deltas; None where
# the database could not read the journal). The line is None where it could not render it.
RenderedRow = tuple[str | None, int, str, str, int, int, int | None, int | None]
RENDERED_ROW_FIELDS = (
    "line",
    "sequence",
    "prev_hash",
    "hash",
    "available_after_minor",
    "reserved_after_minor",
    "available_before_minor",
    "reserved_before_minor",
)
_CSV_COMMAS = len(CSV_HEADER) - 1


class RollForwardBroken(Exception):
    """The stored entries do not roll the opening balance forward: never send such a file."""


@dataclass(frozen=True)
class DayWindow:
    """A calendar day in ``tz`` as the half-open UTC interval ``[starts_at, ends_at)``."""

    date: str
    tz: str
    starts_at: str
    ends_at: str

    def has_ended(self, now: datetime) -> bool:
        return to_rfc3339(now) >= self.ends_at


def day_window(date_text: str, tz: str | None) -> DayWindow:
    """The day named by ``YYYY-MM-DD`` in the IANA zone ``tz`` (UTC when absent)."""
    zone_name = tz or UTC_TZ
    if len(zone_name) > limits.TZ_NAME_CHARS_MAX:
        raise ValidationFailed.field("tz", "not an IANA time zone name")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed.field("tz", f"unknown time zone {zone_name!r}") from exc
    try:
        day = Date.fromisoformat(date_text)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed.field("date", "a calendar day, YYYY-MM-DD") from exc
    if len(date_text) != len("YYYY-MM-DD"):
        raise ValidationFailed.field("date", "a calendar day, YYYY-MM-DD")
    # midnight to midnight in the zone: 23 or 25 hours on the days clocks change
    starts = datetime.combine(day, time(0), tzinfo=zone)
    ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return DayWindow(day.isoformat(), zone_name, to_rfc3339(starts), to_rfc3339(ends))


@dataclass(frozen=True)
class Mark:
    """A position in one currency's chain: its last entry (sequence 0, hash "" when none) and
    the balances it left."""

    sequence: int = 0
    hash: str = ""
    available_minor: int = 0
    reserved_minor: int = 0

    @classmethod
    def after(cls, entry: LedgerEntry | None) -> Mark:
        if entry is None:
            return cls()
        return cls(
            entry.sequence, entry.hash, entry.available_after_minor, entry.reserved_after_minor
        )


@dataclass(frozen=True)
class Seal:
    """A closed day's signed checkpoint as its closing row carries it."""

    checkpoint: str  # canonical JSON, the exact bytes that were signed
    signature: str  # base64 Ed25519
    signing_key_id: str


def checkpoint_text(
    *,
    partner_id: str,
    currency: str,
    window: DayWindow,
    closing: Mark,
    currencies: Currencies,
) -> str:
    """The checkpoint a close signs: canonical JSON (UTF-8, sorted keys, ``,``/``:``)."""
    return canonical_json(
        {
            "partner_id": partner_id,
            "currency": currency,
            "date": window.date,
            "tz": window.tz,
            "closing": {
                "available": currencies.format(closing.available_minor, currency),
                "reserved": currencies.format(closing.reserved_minor, currency),
            },
            "last_sequence": closing.sequence,
            "head_hash": closing.hash,
        }
    )


class ExportWriter:
    """Renders one export, keeping only the running position (see the module docstring)."""

    def __init__(
        self,
        *,
        partner_id: str,
        currency: str,
        window: DayWindow,
        opening: Mark,
        currencies: Currencies,
        fmt: str,
    ) -> None:
        assert fmt in FORMATS, fmt
        self.partner_id = partner_id
        self.currency = currency
        self.window = window
        self.opening_mark = opening
        self.position = opening
        self.entries = 0
        self._fmt = fmt
        self._format = currencies.format
        self._row_format = amount_formatter(currencies.scale(currency))
        self._buffer = io.StringIO()
        # RFC 4180 line ends; minimal quoting keeps plain cells plain
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")

    # rows ---------------------------------------------------------------------------------
    def opening(self) -> bytes:
        mark = self.opening_mark
        if self._fmt == CSV:
            header = self._csv_row(CSV_HEADER)
            return header + self._csv_bound("opening", self.window.starts_at, mark, None)
        return self._json_line(
            {
                "object": "export_opening",
                **self._bound_fields(self.window.starts_at, mark),
            }
        )

    def entry(self, entry: LedgerEntry) -> bytes:
        self._roll_forward(entry)
        if self._fmt == CSV:
            return self._csv_row(self._entry_cells(entry))
        return self._json_line(self._entry_object(entry))

    def rows(self, batch: Sequence[EntryRow]) -> bytes:
        """``entry`` for a batch of stored rows (``ENTRY_ROW_FIELDS`` order), as one run of
        bytes: the same checks and the same bytes, without a ``LedgerEntry`` per row, amounts
        formatted by a formatter bound to the currency's scale, and the CSV written by one
        ``writerows``. A row that breaks the roll-forward raises before any byte of the batch
        is returned."""
        self._roll_forward_rows(batch)
        fmt = self._row_format
        if self._fmt == CSV:
            # Each row written directly; if any cell of the batch holds a character the CSV
            # writer would quote (a comma, a quote, a line break), the counts below differ
            # and the batch is written by the csv module instead: same bytes either way.
            text = "".join(
                [
                    f"entry,{r[2]},{r[1]},{r[17]},{r[3]},{fmt(r[5])},{fmt(r[6])},{fmt(r[7])},"
                    f"{r[9] or ''},{r[10] or ''},{r[11] or ''},{r[12] or ''},{r[14] or ''},"
                    f"{r[13] or ''},{r[16]},{r[19]},{r[18]},,,\r\n"
                    for r in batch
                ]
            )
            n = len(batch)
            if (
                text.count(",") == n * (len(CSV_HEADER) - 1)
                and text.count("\n") == n
                and text.count("\r") == n
                and '"' not in text
            ):
                return text.encode("utf-8")
            self._csv.writerows(
                (
                    "entry",
                    r[2],
                    r[1],
                    r[17],
                    r[3],
                    fmt(r[5]),
                    fmt(r[6]),
                    fmt(r[7]),
                    r[9] or "",
                    r[10] or "",
                    r[11] or "",
                    r[12] or "",
                    r[14] or "",
                    r[13] or "",
                    r[16],
                    r[19],
                    r[18],
                    "",
                    "",
                    "",
                )
                for r in batch
            )
            return self._take_buffer()
        encode = CANONICAL_ENCODER.encode
        return "".join(
            [
                encode(
                    {
                        "object": "ledger_entry",
                        "id": r[2],
                        "partner_id": r[0],
                        "type": r[3],
                        "currency": r[4],
                        "amount": fmt(r[5]),
                        "available_after": fmt(r[6]),
                        "reserved_after": fmt(r[7]),
                        "trade_id": r[9],
                        "quote_id": r[10],
                        "payin_id": r[11],
                        "related_entry_id": r[12],
                        "funding_reference": r[13],
                        "partner_order_id": r[14],
                        "reason": r[15],  # shown, not hashed (chain version 2)
                        "request_id": r[16],
                        "created_at": r[17],
                        "sequence": r[1],
                        "prev_hash": r[18],
                        "hash": r[19],
                    }
                )
                + "\n"
                for r in batch
            ]
        ).encode("utf-8")

    def rendered(self, batch: Sequence[RenderedRow]) -> bytes | None:
        """``rows`` for a CSV batch the database rendered (``RenderedRow``): the same checks,
        done on whole columns, and the same bytes; or None, with nothing moved, for a batch it
        cannot vouch for: a line with a cell that needs CSV quoting, a row the database could
        not render or read, a link or balance that does not follow from the row before. The
        caller hands such a batch to ``rows`` as stored rows, which decides as it always did
        (and raises ``RollForwardBroken`` where it must). Never accepts what ``rows`` refuses.
        """
        assert self._fmt == CSV, "rendered rows are CSV"
        if not batch:
            return b""
        lines, sequences, prev_hashes, hashes, availables, reserveds, avail_before, res_before = (
            zip(*batch, strict=True)
        )
        position = self.position
        # each row's balances before it are the previous row's after it (tuple equality: one
        # C loop per column); None (journal unreadable) never equals an int
        if (
            avail_before[0] != position.available_minor
            or res_before[0] != position.reserved_minor
            or avail_before[1:] != availables[:-1]
            or res_before[1:] != reserveds[:-1]
            or sequences[0] <= position.sequence
            or not all(map(lt, sequences, sequences[1:]))
            or not _links_hold(position, sequences, prev_hashes, hashes)
            or None in lines
        ):
            return None
        text = "".join(cast("tuple[str, ...]", lines))
        n = len(batch)
        # a cell with a comma, a quote or a line break would need quoting: the counts differ
        if (
            text.count(",") != n * _CSV_COMMAS
            or text.count("\n") != n
            or text.count("\r") != n
            or '"' in text
        ):
            return None
        self.position = Mark(sequences[-1], hashes[-1], availables[-1], reserveds[-1])
        self.entries += n
        return text.encode("utf-8")

    def closing(self, seal: Seal | None, expected: Mark | None = None) -> bytes:
        if expected is not None and expected != self.position:
            raise RollForwardBroken(
                f"{self.partner_id} {self.currency} {self.window.date}: the entries end at "
                f"#{self.position.sequence} {self.position.available_minor}/"
                f"{self.position.reserved_minor}, the closed period recorded "
                f"#{expected.sequence} {expected.available_minor}/{expected.reserved_minor}"
            )
        if self._fmt == CSV:
            return self._csv_bound("closing", self.window.ends_at, self.position, seal)
        return self._json_line(
            {
                "object": "export_closing",
                **self._bound_fields(self.window.ends_at, self.position),
                "entries": self.entries,
                "checkpoint": json.loads(seal.checkpoint) if seal else None,
                "signature": seal.signature if seal else None,
                "signing_key_id": seal.signing_key_id if seal else None,
            }
        )

    # checks -------------------------------------------------------------------------------
    def _roll_forward(self, entry: LedgerEntry) -> None:
        here = f"{self.partner_id} #{entry.sequence}"
        if entry.partner_id != self.partner_id or entry.currency != self.currency:
            raise RollForwardBroken(f"{here}: not a {self.currency} entry of {self.partner_id}")
        if entry.sequence <= self.position.sequence:
            raise RollForwardBroken(f"{here}: out of sequence order")
        follows = entry.sequence == self.position.sequence + 1 and bool(self.position.hash)
        if follows and entry.prev_hash != self.position.hash:
            raise RollForwardBroken(f"{here}: does not chain to #{self.position.sequence}")
        d_available, d_reserved = partner_deltas(entry.lines)
        expected = (
            self.position.available_minor + d_available,
            self.position.reserved_minor + d_reserved,
        )
        stored = (entry.available_after_minor, entry.reserved_after_minor)
        if expected != stored:
            raise RollForwardBroken(
                f"{here}: balances before it plus its journal give {expected}, stored {stored}"
            )
        self.position = Mark.after(entry)
        self.entries += 1

    def _roll_forward_rows(self, batch: Sequence[EntryRow]) -> None:
        """``_roll_forward`` over plain rows; the position moves once, at the batch's end."""
        if not batch:
            return
        loads = lines_value
        position = self.position
        sequence, last_hash = position.sequence, position.hash
        available, reserved = position.available_minor, position.reserved_minor
        partner_id, currency = self.partner_id, self.currency
        for row in batch:
            if row[0] != partner_id or row[4] != currency:
                raise RollForwardBroken(
                    f"{partner_id} #{row[1]}: not a {currency} entry of {partner_id}"
                )
            if row[1] <= sequence:
                raise RollForwardBroken(f"{partner_id} #{row[1]}: out of sequence order")
            if row[1] == sequence + 1 and last_hash and row[18] != last_hash:
                raise RollForwardBroken(f"{partner_id} #{row[1]}: does not chain to #{sequence}")
            d_available = d_reserved = 0
            for account, amount in loads(row[8]):  # as lines_from_json, then partner_deltas
                if account == AVAILABLE:
                    d_available += int(amount)
                elif account == RESERVED:
                    d_reserved += int(amount)
            expected = (available + d_available, reserved + d_reserved)
            stored = (row[6], row[7])
            if expected != stored:
                raise RollForwardBroken(
                    f"{partner_id} #{row[1]}: balances before it plus its journal give "
                    f"{expected}, stored {stored}"
                )
            sequence, last_hash, available, reserved = row[1], row[19], row[6], row[7]
        self.position = Mark(sequence, last_hash, available, reserved)
        self.entries += len(batch)

    # rendering ----------------------------------------------------------------------------
    def _csv_row(self, cells: tuple[Any, ...] | list[Any]) -> bytes:
        self._csv.writerow(cells)
        return self._take_buffer()

    def _take_buffer(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")

    def _csv_bound(self, row_type: str, at: str, mark: Mark, seal: Seal | None) -> bytes:
        fmt, currency = self._format, self.currency
        cells: list[Any] = [""] * len(CSV_HEADER)
        cells[0:8] = [
            row_type,
            self.partner_id,
            mark.sequence,
            at,
            currency,
            "",
            fmt(mark.available_minor, currency),
            fmt(mark.reserved_minor, currency),
        ]
        cells[15] = mark.hash
        if seal is not None:
            cells[17:20] = [seal.checkpoint, seal.signature, seal.signing_key_id]
        return self._csv_row(cells)

    def _entry_cells(self, e: LedgerEntry) -> tuple[Any, ...]:
        fmt, links = self._format, e.links
        return (
            "entry",
            e.id,
            e.sequence,
            e.created_at,
            e.type,
            fmt(e.amount_minor, e.currency),
            fmt(e.available_after_minor, e.currency),
            fmt(e.reserved_after_minor, e.currency),
            links.trade_id or "",
            links.quote_id or "",
            links.payin_id or "",
            links.related_entry_id or "",
            links.partner_order_id or "",
            links.funding_reference or "",
            e.request_id,
            e.hash,
            e.prev_hash,
            "",
            "",
            "",
        )

    def _entry_object(self, e: LedgerEntry) -> dict[str, Any]:
        fmt, links = self._format, e.links
        return {
            "object": "ledger_entry",
            "id": e.id,
            "partner_id": e.partner_id,
            "type": e.type,
            "currency": e.currency,
            "amount": fmt(e.amount_minor, e.currency),
            "available_after": fmt(e.available_after_minor, e.currency),
            "reserved_after": fmt(e.reserved_after_minor, e.currency),
            "trade_id": links.trade_id,
            "quote_id": links.quote_id,
            "payin_id": links.payin_id,
            "related_entry_id": links.related_entry_id,
            "funding_reference": links.funding_reference,
            "partner_order_id": links.partner_order_id,
            "reason": e.reason,  # shown, not hashed (chain version 2, docs/ledger-hash.md)
            "request_id": e.request_id,
            "created_at": e.created_at,
            "sequence": e.sequence,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }

    def _bound_fields(self, at: str, mark: Mark) -> dict[str, Any]:
        fmt, currency = self._format, self.currency
        return {
            "partner_id": self.partner_id,
            "currency": currency,
            "date": self.window.date,
            "tz": self.window.tz,
            "at": at,
            "available": fmt(mark.available_minor, currency),
            "reserved": fmt(mark.reserved_minor, currency),
            "sequence": mark.sequence,
            "hash": mark.hash,
        }

    @staticmethod
    def _json_line(value: dict[str, Any]) -> bytes:
        return (canonical_json(value) + "\n").encode("utf-8")


def _links_hold(
    position: Mark, sequences: Sequence[int], prev_hashes: Sequence[str], hashes: Sequence[str]
) -> bool:
    """``_roll_forward``'s chain rule over a batch: a row that directly follows the previous
    one links its hash. Every row linking its predecessor passes at once (one comparison of
    whole columns); otherwise (the day interleaves currencies, or opens after a gap) each
    row is checked as ``rows`` checks it."""
    if prev_hashes[0] == position.hash and prev_hashes[1:] == hashes[:-1]:
        return True
    sequence, last_hash = position.sequence, position.hash
    for row_sequence, prev_hash, row_hash in zip(sequences, prev_hashes, hashes, strict=True):
        if row_sequence == sequence + 1 and last_hash and prev_hash != last_hash:
            return False
        sequence, last_hash = row_sequence, row_hash
    return True

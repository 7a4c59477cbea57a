"""The finance export, streamed from one read snapshot in bounded memory.

What: ``open_export`` checks who asks, pins one read snapshot (``store.reading()``), decides
the file's sha256, and returns an ``Export`` whose ``chunks`` stream the bytes and own the
snapshot (closing it when they end, or when ``close()`` is called on a stream never started).

``X-Content-SHA256``, decided (docs/api-notes.md): a closed day's export has the sha256 the close
stored, sent up front and checked again against the bytes as they stream (a difference aborts
the stream: the frozen file never silently changes). An open day's sha256 is computed by a
first streaming pass over the same snapshot before any byte is sent (twice the reading, no
buffering, and no HTTP trailer, which most clients drop), so the two passes see the same rows.

Roll-forward is checked on every row (``domain.exports.ExportWriter``): a mismatch raises
``RollForwardBroken``, which aborts the response rather than send a wrong file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import BinaryIO

from zeropools.domain import limits
from zeropools.domain.errors import CurrencyNotEnabled, NotFound, ValidationFailed
from zeropools.domain.exports import (
    CSV,
    FORMATS,
    JSONL,
    DayWindow,
    ExportWriter,
    Mark,
    RollForwardBroken,
    Seal,
    day_window,
)
from zeropools.domain.ledger import EntryRow
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN
from zeropools.services.context import Ctx, Deployment, require_role, scoped_partner
from zeropools.store.protocol import Tx

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportRequest:
    partner_id: str
    window: DayWindow
    currency: str
    fmt: str


@dataclass
class Export:
    """An export ready to stream: ``sha256`` is known before the first byte."""

    request: ExportRequest
    sha256: str
    closed: bool
    chunks: Iterator[bytes]
    _stack: ExitStack = field(repr=False)

    @property
    def filename(self) -> str:
        return filename(self.request)

    def close(self) -> None:
        """Release the snapshot; safe to call after the stream ended, or if it never began."""
        self._stack.close()


def filename(request: ExportRequest) -> str:
    """The file name an export is offered under: ``ledger_PARTNER_CURRENCY_DATE.FMT``."""
    r = request
    return f"ledger_{r.partner_id}_{r.currency}_{r.window.date}.{r.fmt}"


def export_request(
    dep: Deployment,
    ctx: Ctx,
    partner_id: str | None,
    *,
    date: str,
    currency: str | None,
    fmt: str | None,
    tz: str | None,
) -> ExportRequest:
    """Who may export what: partner admins their own ledger, operators any partner's."""
    require_role(ctx, OPERATOR, PARTNER_ADMIN)
    owner = scoped_partner(ctx, partner_id)
    chosen_fmt = fmt or "csv"
    if chosen_fmt not in FORMATS:
        raise ValidationFailed.field("format", f"one of {', '.join(FORMATS)}")
    window = day_window(date, tz)
    partner = dep.store.read(lambda tx: tx.get_partner(owner))
    if partner is None:
        raise NotFound(f"No partner {owner!r}.")
    enabled = [pc.currency for pc in partner.currencies]
    chosen = currency or (enabled[0] if len(enabled) == 1 else None)
    if chosen is None:
        raise ValidationFailed.field("currency", f"required: the partner has {enabled}")
    if chosen not in enabled:
        raise CurrencyNotEnabled(
            f"{chosen} is not enabled for {owner}.", currency=chosen, enabled=enabled
        )
    return ExportRequest(owner, window, chosen, chosen_fmt)


def open_export(
    dep: Deployment, request: ExportRequest, progress: Progress | None = None
) -> Export:
    """Pin a snapshot, settle the sha256, and hand back the stream that owns the snapshot."""
    stack = ExitStack()
    try:
        tx = stack.enter_context(dep.store.reading())
        seal, expected = _frozen(tx, request)
        if expected is not None:
            sha256 = expected
        else:
            digest = hashlib.sha256()
            for chunk in render(dep, tx, request, seal):
                digest.update(chunk)
            sha256 = digest.hexdigest()
    except BaseException:
        stack.close()
        raise

    def chunks() -> Iterator[bytes]:
        with stack:
            digest = hashlib.sha256()
            for chunk in render(dep, tx, request, seal, progress):
                digest.update(chunk)
                yield chunk
            if digest.hexdigest() != sha256:
                raise RollForwardBroken(
                    f"the export of {request.partner_id} {request.currency} "
                    f"{request.window.date} no longer has the sha256 recorded at close"
                )

    return Export(request, sha256, expected is not None, chunks(), stack)


def write_export(
    dep: Deployment, request: ExportRequest, out: BinaryIO, progress: Progress | None = None
) -> tuple[str, bool]:
    """Write the export to ``out`` in one pass and return its sha256 and whether the day is
    closed. For a caller that writes a file (``zeropools export``): it needs the sha256 after
    the bytes, not before, so the first pass ``open_export`` makes for an open day (half the
    time of a million-entry export) is not needed. A closed day's bytes are still held to
    the sha256 its close stored; a difference raises ``RollForwardBroken`` after the last byte
    (the caller discards what it wrote)."""
    with dep.store.reading() as tx:
        seal, expected = _frozen(tx, request)
        digest = hashlib.sha256()
        for chunk in render(dep, tx, request, seal, progress):
            digest.update(chunk)
            out.write(chunk)
    sha256 = digest.hexdigest()
    if expected is not None and sha256 != expected:
        raise RollForwardBroken(
            f"the export of {request.partner_id} {request.currency} {request.window.date} "
            "no longer has the sha256 recorded at close"
        )
    return sha256, expected is not None


def _frozen(tx: Tx, request: ExportRequest) -> tuple[Seal | None, str | None]:
    """A closed day's seal and stored sha256 (when the export's day and zone are the close's)."""
    period = tx.get_period(request.partner_id, request.window.date)
    if period is None or period.tz != request.window.tz:
        return None, None
    close = period.close_of(request.currency)
    if close is None:
        return None, None
    seal = Seal(close.checkpoint, close.signature, close.signing_key_id)
    return seal, close.jsonl_sha256 if request.fmt == JSONL else close.csv_sha256


def opening_mark(tx: Tx, partner_id: str, currency: str, window: DayWindow) -> Mark:
    return Mark.after(tx.last_entry_before(partner_id, currency, window.starts_at))


def render(
    dep: Deployment,
    tx: Tx,
    request: ExportRequest,
    seal: Seal | None,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The export's bytes in chunks of at least ``EXPORT_CHUNK_BYTES`` (the last may be
    smaller)."""
    writer = ExportWriter(
        partner_id=request.partner_id,
        currency=request.currency,
        window=request.window,
        opening=opening_mark(tx, request.partner_id, request.currency, request.window),
        currencies=dep.currencies,
        fmt=request.fmt,
    )
    expected = _expected_closing(tx, request) if seal is not None else None
    pending = [writer.opening()]
    size = len(pending[0])
    blocks = (
        _rendered_blocks(dep, tx, request, writer)
        if request.fmt == CSV
        else (writer.rows(rows) for rows in _stored_rows(tx, request))
    )
    for block in blocks:
        # a batch of rows (``limits.BULK_READ_BATCH_ROWS``) renders in one go; chunks are
        # sent once they hold EXPORT_CHUNK_BYTES, so a chunk is one or a few batches
        pending.append(block)
        size += len(block)
        if size >= limits.EXPORT_CHUNK_BYTES:
            yield b"".join(pending)
            if progress is not None:
                progress(writer.entries)
            pending, size = [], 0
    pending.append(writer.closing(seal, expected))
    yield b"".join(pending)
    if progress is not None:
        progress(writer.entries)


def _rendered_blocks(
    dep: Deployment, tx: Tx, request: ExportRequest, writer: ExportWriter
) -> Iterator[bytes]:
    """The CSV entry rows, a batch at a time, as the database rendered them
    (``store/sql/export_csv.py``), checked by ``writer.rendered``. A batch it does not vouch
    for is rendered again from its stored rows by ``writer.rows``, the reference path, which
    also decides whether it breaks the roll-forward: the bytes are the same either way (tests
    hold both paths to each other on both stores)."""
    window = request.window
    scale = dep.currencies.scale(request.currency)
    for batch in tx.stream_rendered_rows(
        request.partner_id, request.currency, window.starts_at, window.ends_at, scale
    ):
        block = writer.rendered(batch)
        if block is None:
            block = b"".join(_reference_blocks(tx, request, writer, batch[0][1], batch[-1][1]))
        yield block


def _reference_blocks(
    tx: Tx, request: ExportRequest, writer: ExportWriter, first: int, last: int
) -> Iterator[bytes]:
    """``writer.rows`` over the stored rows of sequences ``first``..``last`` of the export."""
    rows = _stored_rows(tx, request, after_sequence=first - 1)
    try:
        for batch in rows:
            inside = [row for row in batch if row[1] <= last]
            yield writer.rows(inside)
            if len(inside) < len(batch):
                return
    finally:
        rows.close()  # type: ignore[attr-defined]


def _stored_rows(
    tx: Tx, request: ExportRequest, after_sequence: int = 0
) -> Iterator[list[EntryRow]]:
    """The export's stored entry rows (its partner, currency and day) after ``after_sequence``,
    in chain order, a batch at a time."""
    return tx.stream_entry_rows(
        request.partner_id,
        currency=request.currency,
        created_gte=request.window.starts_at,
        created_lt=request.window.ends_at,
        after_sequence=after_sequence,
    )


def _expected_closing(tx: Tx, request: ExportRequest) -> Mark | None:
    period = tx.get_period(request.partner_id, request.window.date)
    close = period.close_of(request.currency) if period is not None else None
    return close.closing if close is not None else None


def digests_of_day(
    dep: Deployment, tx: Tx, partner_id: str, currency: str, window: DayWindow
) -> tuple[ExportWriter, Callable[[Seal], tuple[str, str]]]:
    """One streaming pass for a close: roll-forward checked, both formats hashed up to the
    closing row; returns a writer (its final position) and a function that finishes both
    digests with the seal."""
    opening = opening_mark(tx, partner_id, currency, window)
    csv_writer, jsonl_writer = (
        ExportWriter(
            partner_id=partner_id,
            currency=currency,
            window=window,
            opening=opening,
            currencies=dep.currencies,
            fmt=fmt,
        )
        for fmt in FORMATS
    )
    csv_digest = hashlib.sha256(csv_writer.opening())
    jsonl_digest = hashlib.sha256(jsonl_writer.opening())
    for rows in tx.stream_entry_rows(
        partner_id, currency=currency, created_gte=window.starts_at, created_lt=window.ends_at
    ):
        csv_digest.update(csv_writer.rows(rows))
        jsonl_digest.update(jsonl_writer.rows(rows))

    def finish(seal: Seal) -> tuple[str, str]:
        csv_digest.update(csv_writer.closing(seal))
        jsonl_digest.update(jsonl_writer.closing(seal))
        return csv_digest.hexdigest(), jsonl_digest.hexdigest()

    return csv_writer, finish

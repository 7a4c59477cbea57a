"""Matching a partner's order file (``POST /v1/reconciliation/match``, ``zeropools reconcile``).

The file is a seekable binary stream (the API spools the body to a temporary file; the CLI
opens the path) and is read two or three times, never held whole:

0. when no ``date`` is given, a first read finds the days the file spans (in ``tz``);
1. the trades of those days (plus ``tolerance_s`` on either side, which may match but are never
   reported missing) are loaded in one snapshot; every valid row is handed to the domain's
   ``Matcher``, which keeps a few integers per row; the matcher decides every pair;
2. the trades the file acknowledges (a matched final ``failed``/``returned`` status) are
   acknowledged through the command door, in chunks, before anything is answered;
3. ``MatchRun.items`` reads the file once more and yields each line's result (or why it was
   not read) in file order, then the trades the file lacks: the caller streams them out.

The summary is complete before step 3, so a JSON answer can put it first. A file that cannot be
read as a whole (``formats.orders.OrderFileError``) is 422 ``validation_error`` before anything
is matched; a bad row is reported with its line and the rest is still matched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, timedelta, tzinfo
from typing import IO

from zeropools.domain import limits, matching
from zeropools.domain import reconciliation as recon
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import NotFound, ValidationFailed
from zeropools.domain.matching import (
    LedgerOrder,
    Matcher,
    MatchResult,
    MatchSummary,
    RowError,
)
from zeropools.formats import orders
from zeropools.services import dispatch
from zeropools.services.commands import AcknowledgeMatched
from zeropools.services.context import Ctx, Deployment, require_role, scoped_partner
from zeropools.services.reconciliation import ROLES, Window, day_window, zone

Progress = Callable[[str, int], None]  # (phase, rows done so far in it)
PROGRESS_EVERY_ROWS = 1000
SCANNING, MATCHING, ANSWERING = "scanning", "matching", "answering"
ACKNOWLEDGE_CHUNK = 500  # trades acknowledged per transaction


class MatchRun:
    """A decided match: its ``summary``, and ``items()`` to stream the results once."""

    def __init__(
        self,
        summary: MatchSummary,
        matcher: Matcher,
        read: Callable[[], Iterator[matching.OrderRow | RowError]],
        progress: Progress | None,
    ) -> None:
        self.summary = summary
        self._matcher = matcher
        self._read = read
        self._progress = progress

    def items(self) -> Iterator[MatchResult | RowError]:
        """Each line's result in file order, then the trades the file lacks (one pass)."""
        for done, item in enumerate(self._read(), start=1):
            yield item if isinstance(item, RowError) else self._matcher.result(item)
            _report(self._progress, ANSWERING, done)
        yield from self._matcher.missing_in_file()


def check_tolerance(tolerance_s: int) -> int:
    if not 0 <= tolerance_s <= limits.MATCH_TOLERANCE_MAX_S:
        raise ValidationFailed.field(
            "tolerance_s", f"between 0 and {limits.MATCH_TOLERANCE_MAX_S} seconds"
        )
    return tolerance_s


def match_file(
    dep: Deployment,
    ctx: Ctx,
    *,
    partner_id: str | None,
    file: IO[bytes],
    media_type: str | None,
    tolerance_s: int = limits.MATCH_TOLERANCE_DEFAULT_S,
    date: str | None = None,
    tz: str | None = None,
    progress: Progress | None = None,
) -> MatchRun:
    """Decide the match of ``file`` (steps 0 to 2 of the module); stream ``items()`` next."""
    require_role(ctx, *ROLES)
    scoped = scoped_partner(ctx, partner_id)
    check_tolerance(tolerance_s)
    zone(tz)  # a bad tz is refused before the file is read
    if date is not None:
        recon.parse_day(date)
    file.seek(0)
    kind = orders.detect(media_type, file)

    def lines() -> Iterator[orders.OrderLine | orders.LineProblem]:
        file.seek(0)
        try:
            yield from orders.read_orders(
                file,
                kind,
                columns=matching.COLUMNS,
                required=matching.REQUIRED_COLUMNS,
                rows_max=limits.RECONCILIATION_FILE_ROWS_MAX,
            )
        except orders.OrderFileError as exc:
            raise ValidationFailed(
                f"The order file cannot be read: {exc}",
                errors=[{"field": "body", "message": str(exc)}],
                line=exc.line,
            ) from None

    def read() -> Iterator[matching.OrderRow | RowError]:
        for line in lines():
            if isinstance(line, orders.LineProblem):
                yield RowError(line.line, line.field, line.message)
            else:
                yield matching.read_row(line.line, line.fields, dep.currencies)

    window = day_window(date, tz, ctx.now) if date is not None else _span(lines, tz, progress)
    ledger = _ledger(dep, scoped, window, tolerance_s)
    matcher = Matcher(ledger, tolerance_s, dep.currencies)
    rows_read = invalid = 0
    for item in read():
        rows_read += 1
        if isinstance(item, RowError):
            invalid += 1
        else:
            matcher.add(item)
        _report(progress, MATCHING, rows_read)
    counts = matcher.resolve()
    acknowledged = _acknowledge(dep, ctx, scoped, matcher.acknowledgements())
    matcher.confirm(acknowledged)
    summary = MatchSummary(
        partner_id=scoped,
        format=kind,
        rows_read=rows_read,
        invalid=invalid,
        counts=counts,
        acknowledged=len(acknowledged),
        tolerance_s=tolerance_s,
        window_from=window.created_gte if window is not None else None,
        window_to=window.created_lt if window is not None else None,
        tz=tz or "UTC",
    )
    return MatchRun(summary, matcher, read, progress)


def _report(progress: Progress | None, phase: str, done: int) -> None:
    if progress is not None and done % PROGRESS_EVERY_ROWS == 0:
        progress(phase, done)


def _span(
    lines: Callable[[], Iterator[orders.OrderLine | orders.LineProblem]],
    tz: str | None,
    progress: Progress | None,
) -> Window | None:
    """The days the file's rows span (by their readable ``created_at``), in ``tz``; None when
    no row has one."""
    first = last = None
    for done, line in enumerate(lines(), start=1):
        _report(progress, SCANNING, done)
        at = None if isinstance(line, orders.LineProblem) else matching.row_time_us(line.fields)
        if at is None:
            continue
        first = at if first is None else min(first, at)
        last = at if last is None else max(last, at)
    if first is None or last is None:
        return None
    zone_info = zone(tz)
    first_day = matching.from_us(first).astimezone(zone_info).date()
    last_day = matching.from_us(last).astimezone(zone_info).date()
    recon.check_day(first_day)
    recon.check_day(last_day)
    if recon.days_between(first_day, last_day) > limits.RECONCILIATION_DAYS_MAX:
        raise ValidationFailed.field(
            "date",
            f"the file spans {first_day} to {last_day}, more than "
            f"{limits.RECONCILIATION_DAYS_MAX} days: send ?date= to hold it against one day",
        )
    return _days(first_day, last_day, tz, zone_info)


def _days(first_day: date, last_day: date, tz: str | None, zone_info: tzinfo) -> Window:
    start, _ = recon.day_bounds(first_day, zone_info)
    _, end = recon.day_bounds(last_day, zone_info)
    return Window(first_day.isoformat(), last_day.isoformat(), tz or "UTC", start, end)


def _ledger(
    dep: Deployment, partner_id: str, window: Window | None, tolerance_s: int
) -> list[LedgerOrder]:
    """The trades of ``window`` and of ``tolerance_s`` either side, oldest first."""
    if window is None:
        return []
    margin = timedelta(seconds=tolerance_s)
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    found: list[LedgerOrder] = []
    with dep.store.reading() as tx:
        if tx.get_partner(partner_id) is None:
            raise NotFound(f"No partner {partner_id!r}.")
        trades = tx.stream_trades(
            partner_id,
            created_gte=to_rfc3339(start - margin),
            created_lt=to_rfc3339(end + margin),
        )
        waiting: list[int] = []  # indexes of trades whose status needs an acknowledgement
        for trade in trades:
            if recon.needs_acknowledgement(recon.TRADE, trade.status):
                waiting.append(len(found))
            found.append(
                LedgerOrder(
                    trade_id=trade.id,
                    quote_id=trade.quote_id,
                    partner_order_id=trade.partner_order_id,
                    currency=trade.currency,
                    amount_minor=trade.source_amount_minor,
                    created_at_us=matching.to_us(trade.created_at),
                    status=trade.status,
                    awaiting_acknowledgement=False,
                    in_window=start <= trade.created_at < end,
                )
            )
        for chunk_start in range(0, len(waiting), limits.IN_LIST_VALUES_MAX):
            chunk = waiting[chunk_start : chunk_start + limits.IN_LIST_VALUES_MAX]
            acks = tx.acknowledgements(partner_id, [found[i].trade_id for i in chunk])
            for i in chunk:
                if found[i].trade_id not in acks:
                    found[i] = replace(found[i], awaiting_acknowledgement=True)
    return found


def _acknowledge(
    dep: Deployment, ctx: Ctx, partner_id: str, found: list[tuple[str, str, int]]
) -> set[str]:
    done: set[str] = set()
    for start in range(0, len(found), ACKNOWLEDGE_CHUNK):
        chunk = tuple(found[start : start + ACKNOWLEDGE_CHUNK])
        rows = dispatch.apply(dep, ctx, AcknowledgeMatched(partner_id, chunk))
        done.update(row.id for row in rows)
    return done

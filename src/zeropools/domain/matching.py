"""Matching a partner's order file against the ledger's trades, one to one.

The product brief: "Reconcile by durable ids first, then by amount and timestamp." Each file row
is matched to at most one trade and each trade to at most one row, in tiers; a tier only sees
what the tiers before it left:

1. ``id``: every row's ``trade_id``, then (rows still undecided) every row's ``quote_id``, then
   every row's ``partner_order_id``. The first of a row's ids that names a ledger trade decides
   the row: it takes the trade, or, if an earlier row took it, the row is a duplicate (reported
   ``missing_in_ledger`` with ``duplicate_of_line``: the ledger has one trade, the file two
   rows). A ``partner_order_id`` may name several trades (a retry after a release or failure):
   the row takes the closest of those still free (same amount and currency first, then the
   same status, then the nearest time).
2. ``amount_time``: a row whose ids name nothing (foreign ids, or none) takes, in file order, the
   nearest free trade of the same currency and amount whose time is within the tolerance;
   ids that differ are then listed in ``differences``.
3. What is left: rows are ``missing_in_ledger``, trades of the window ``missing_in_file``.

A matched pair is ``mismatched`` when its amount, currency or (if the file has one) status
differ; ids that differ are listed too but do not make a mismatch (a foreign order id matched by
amount and time is still a match). A match whose file status equals the trade's final
``failed``/``returned`` status acknowledges that trade's reconciliation row.

Memory: the file is read twice (``add`` every valid row, then ``result`` for each again, in the
same order), and between the two reads only a few integers per row are kept, in arrays (about
60 bytes a row), so a 100k-row file costs a few megabytes beyond the ledger's trades. Pure: no
I/O; rows come in, results go out.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from zeropools.domain import limits, trades
from zeropools.domain.clock import from_rfc3339
from zeropools.domain.errors import DomainError
from zeropools.domain.money import Currencies

ID = "id"
AMOUNT_TIME = "amount_time"
TIERS = (ID, AMOUNT_TIME)

MATCHED = "matched"
MISMATCHED = "mismatched"
MISSING_IN_LEDGER = "missing_in_ledger"
MISSING_IN_FILE = "missing_in_file"
OUTCOMES = (MATCHED, MISMATCHED, MISSING_IN_LEDGER, MISSING_IN_FILE)

# The partner file's columns (API.md): these four are required, the rest optional.
REQUIRED_COLUMNS = ("partner_order_id", "amount", "currency", "created_at")
OPTIONAL_COLUMNS = ("trade_id", "quote_id", "status")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
VALUE_FIELDS = ("amount", "currency", "status")  # a difference here is a mismatch
ID_FIELDS = ("trade_id", "quote_id", "partner_order_id")  # reported, never a mismatch

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_NONE = -1  # "no value" in the arrays
_OTHER_STATUS = -2  # a file status that is no trade status: always differs
_STATUSES = tuple(sorted(trades.STATUSES))
_STATUS_CODE = {status: code for code, status in enumerate(_STATUSES)}


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch: how times are compared (and kept) here."""
    return (moment - _EPOCH) // _US


def from_us(us: int) -> datetime:
    return _EPOCH + us * _US


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One valid row of the partner's file; ``amount`` as written, ``line`` as in the file."""

    line: int
    partner_order_id: str
    amount: str
    amount_minor: int
    currency: str
    created_at_us: int
    trade_id: str | None
    quote_id: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that cannot be matched, and why; the rest of the file still is."""

    line: int
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    """One trade as the matcher sees it; ``in_window``: inside the day(s) held against the
    file (trades of the margin may match a row, but are never reported missing)."""

    trade_id: str
    quote_id: str
    partner_order_id: str
    currency: str
    amount_minor: int
    created_at_us: int
    status: str
    awaiting_acknowledgement: bool
    in_window: bool = True


@dataclass(frozen=True, slots=True)
class Difference:
    field: str
    file: str | None
    ledger: str | None


@dataclass(frozen=True, slots=True)
class MatchResult:
    line: int | None  # None: a trade the file lacks
    partner_order_id: str | None
    trade_id: str | None  # the ledger's trade: matched, duplicated, or missing in the file
    quote_id: str | None
    outcome: str
    tier: str | None
    differences: tuple[Difference, ...] = ()
    duplicate_of_line: int | None = None
    acknowledged: bool = False


@dataclass(frozen=True)
class MatchCounts:
    """The summary, known before the second read of the file."""

    matched: int
    mismatched: int
    missing_in_ledger: int
    missing_in_file: int
    by_tier: Mapping[str, int]


@dataclass(frozen=True)
class MatchSummary:
    """What a match found, known before its results are streamed."""

    partner_id: str
    format: str
    rows_read: int  # data rows, the bad ones included
    invalid: int  # rows that could not be read (reported by line)
    counts: MatchCounts
    acknowledged: int  # trades this match acknowledged
    tolerance_s: int
    window_from: str | None  # the ledger window held against the file (None: nothing to hold)
    window_to: str | None
    tz: str


def row_time_us(fields: Mapping[str, str | None]) -> int | None:
    """Just a row's ``created_at``, as ``read_row`` reads it (None if it cannot): what finding
    the days a file spans needs, at a fraction of the cost of reading the whole row."""
    moment = _moment((fields.get("created_at") or "").strip())
    return None if moment is None else to_us(moment)


def _moment(text: str) -> datetime | None:
    """An RFC 3339 time with an offset, in the years a day can be bounded in; else None."""
    if "T" not in text.upper() or len(text) > limits.ID_CHARS_MAX:
        return None
    try:
        moment = from_rfc3339(text)
    except (ValueError, OverflowError):
        return None
    return moment if limits.DAY_YEAR_MIN <= moment.year <= limits.DAY_YEAR_MAX else None


def read_row(
    line: int, fields: Mapping[str, str | None], currencies: Currencies
) -> OrderRow | RowError:
    """A file row's text fields, checked and typed; the first problem found is the error."""

    def text(name: str, required: bool, chars_max: int) -> str | RowError | None:
        value = fields.get(name)
        value = value.strip() if value is not None else None
        if not value:
            return RowError(line, name, "required") if required else None
        if len(value) > chars_max:
            return RowError(line, name, f"at most {chars_max} characters")
        return value

    order_id = text("partner_order_id", True, limits.PARTNER_ORDER_ID_CHARS_MAX)
    currency = text("currency", True, limits.ID_CHARS_MAX)
    amount = text("amount", True, limits.AMOUNT_TEXT_CHARS_MAX)
    created = text("created_at", True, limits.ID_CHARS_MAX)
    trade_id = text("trade_id", False, limits.ID_CHARS_MAX)
    quote_id = text("quote_id", False, limits.ID_CHARS_MAX)
    status = text("status", False, limits.ID_CHARS_MAX)
    for value in (order_id, amount, currency, created, trade_id, quote_id, status):
        if isinstance(value, RowError):
            return value
    assert isinstance(order_id, str) and isinstance(amount, str)
    assert isinstance(currency, str) and isinstance(created, str)
    try:
        # a spreadsheet may write 100.000 for 100.00 EUR: trailing zeros are the same amount
        amount_minor = currencies.parse(amount, currency, allow_trailing_zeros=True)
    except DomainError as exc:
        field = "currency" if exc.code == "currency_not_enabled" else "amount"
        return RowError(line, field, exc.detail)
    moment = _moment(created)
    if moment is None:
        return RowError(
            line,
            "created_at",
            f"an RFC 3339 time with offset, 2026-11-23T09:15:00Z, from {limits.DAY_YEAR_MIN} "
            f"to {limits.DAY_YEAR_MAX}",
        )
    return OrderRow(
        line=line,
        partner_order_id=order_id,
        amount=amount,
        amount_minor=amount_minor,
        currency=currency,
        created_at_us=to_us(moment),
        trade_id=trade_id if isinstance(trade_id, str) else None,
        quote_id=quote_id if isinstance(quote_id, str) else None,
        status=status.lower() if isinstance(status, str) else None,
    )


class Matcher:
    """One match of a file against ``ledger`` (the trades of the window, in ledger order).

    Use: ``add`` every valid row in file order; ``resolve`` once; ``acknowledgements`` says
    which trades the file acknowledges (the caller writes them, and ``confirm``s what it wrote);
    then ``result`` for every valid row again, in the same order, and ``missing_in_file``.
    """

    def __init__(
        self, ledger: Sequence[LedgerOrder], tolerance_s: int, currencies: Currencies
    ) -> None:
        assert 0 <= tolerance_s <= limits.MATCH_TOLERANCE_MAX_S, tolerance_s
        self._ledger = ledger
        self._tolerance_us = tolerance_s * 1_000_000
        self._currencies = currencies
        self._by_trade = {order.trade_id: i for i, order in enumerate(ledger)}
        self._by_quote = {order.quote_id: i for i, order in enumerate(ledger)}
        self._groups: list[list[int]] = []
        self._by_order: dict[str, int] = {}
        for i, order in enumerate(ledger):
            group = self._by_order.setdefault(order.partner_order_id, len(self._groups))
            if group == len(self._groups):
                self._groups.append([])
            self._groups[group].append(i)
        self._currency_code: dict[str, int] = {}
        self._ledger_currency = array("q", (self._code(o.currency) for o in ledger))
        # per file row (index r), filled by ``add``
        self._line = array("q")
        self._named = [array("q"), array("q"), array("q")]  # trade, quote, order group
        self._amount = array("q")
        self._currency = array("q")
        self._at = array("q")
        self._status = array("q")
        # decisions, filled by ``resolve``
        self._claimed_by = array("q", [_NONE]) * len(ledger)  # ledger index -> row index
        self._match: array[int] = array("q")  # row index -> ledger index (or _NONE)
        self._tier: array[int] = array("q")  # 0 none, 1 id, 2 amount_time
        self._duplicate_of: dict[int, int] = {}  # row index -> ledger index it duplicates
        self._acknowledged: set[int] = set()  # ledger indexes the caller acknowledged
        self._resolved = False
        self._cursor = 0  # the next row ``result`` expects

    def _code(self, currency: str) -> int:
        return self._currency_code.setdefault(currency, len(self._currency_code))

    # -- first read ---------------------------------------------------------------------------

    def add(self, row: OrderRow) -> None:
        assert not self._resolved, "add after resolve"
        assert not self._line or row.line > self._line[-1], "rows come in file order"
        self._line.append(row.line)
        trade_named = self._by_trade.get(row.trade_id, _NONE) if row.trade_id else _NONE
        quote_named = self._by_quote.get(row.quote_id, _NONE) if row.quote_id else _NONE
        self._named[0].append(trade_named)
        self._named[1].append(quote_named)
        self._named[2].append(self._by_order.get(row.partner_order_id, _NONE))
        self._amount.append(row.amount_minor)
        self._currency.append(self._code(row.currency))
        self._at.append(row.created_at_us)
        status = _NONE if row.status is None else _STATUS_CODE.get(row.status, _OTHER_STATUS)
        self._status.append(status)

    @property
    def rows(self) -> int:
        return len(self._line)

    # -- deciding -----------------------------------------------------------------------------

    def resolve(self) -> MatchCounts:
        assert not self._resolved
        self._resolved = True
        rows = len(self._line)
        self._match = array("q", [_NONE]) * rows
        self._tier = array("q", [0]) * rows
        decided = bytearray(rows)
        for kind in range(3):  # trade_id, then quote_id, then partner_order_id
            named = self._named[kind]
            for r in range(rows):
                if decided[r] or named[r] == _NONE:
                    continue
                decided[r] = 1
                target = self._pick_in_group(r, named[r]) if kind == 2 else named[r]
                if self._claimed_by[target] == _NONE:
                    self._claim(r, target, tier=1)
                else:
                    self._duplicate_of[r] = target
        self._match_amount_time(decided)
        return self._counts()

    def _pick_in_group(self, r: int, group: int) -> int:
        """The trade of an order group row ``r`` should take: a free one closest to it, or
        (all taken) the first, which makes the row a duplicate."""
        members = self._groups[group]
        free = [i for i in members if self._claimed_by[i] == _NONE]
        if not free:
            return members[0]
        return min(free, key=lambda i: (*self._distance(r, i), i))

    def _distance(self, r: int, i: int) -> tuple[int, int, int]:
        order = self._ledger[i]
        same_money = (self._amount[r], self._currency[r]) == (
            order.amount_minor,
            self._ledger_currency[i],
        )
        same_status = self._status[r] == _STATUS_CODE[order.status]
        return (
            0 if same_money else 1,
            0 if same_status else 1,
            abs(self._at[r] - order.created_at_us),
        )

    def _claim(self, r: int, i: int, tier: int) -> None:
        self._claimed_by[i] = r
        self._match[r] = i
        self._tier[r] = tier

    def _match_amount_time(self, decided: bytearray) -> None:
        free: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for i, order in enumerate(self._ledger):
            if self._claimed_by[i] == _NONE:
                key = (self._ledger_currency[i], order.amount_minor)
                free.setdefault(key, []).append((order.created_at_us, i))
        for waiting in free.values():
            waiting.sort()
        for r in range(len(self._line)):
            if decided[r]:
                continue
            candidates = free.get((self._currency[r], self._amount[r]), [])
            if not candidates:
                continue
            at = self._at[r]
            pos = bisect.bisect_left(candidates, (at, -1))
            best = None
            for j in (pos - 1, pos):  # the nearest on either side; the earlier wins a tie
                if 0 <= j < len(candidates):
                    gap = abs(candidates[j][0] - at)
                    if gap <= self._tolerance_us and (best is None or gap < best[0]):
                        best = (gap, j)
            if best is not None:
                _, i = candidates.pop(best[1])
                self._claim(r, i, tier=2)

    def _differs(self, r: int, i: int) -> bool:
        order = self._ledger[i]
        status = self._status[r]
        return (
            self._amount[r] != order.amount_minor
            or self._currency[r] != self._ledger_currency[i]
            or (status != _NONE and status != _STATUS_CODE[order.status])
        )

    def _counts(self) -> MatchCounts:
        matched = mismatched = missing = 0
        by_tier = {ID: 0, AMOUNT_TIME: 0}
        for r in range(len(self._line)):
            i = self._match[r]
            if i == _NONE:
                missing += 1
                continue
            by_tier[TIERS[self._tier[r] - 1]] += 1
            if self._differs(r, i):
                mismatched += 1
            else:
                matched += 1
        lacking = sum(
            1
            for i, order in enumerate(self._ledger)
            if order.in_window and self._claimed_by[i] == _NONE
        )
        return MatchCounts(matched, mismatched, missing, lacking, by_tier)

    def acknowledgements(self) -> list[tuple[str, str, int]]:
        """``(trade_id, status, line)`` of every matched trade waiting for an acknowledgement
        whose file row reports the same final status."""
        assert self._resolved
        found = []
        for r in range(len(self._line)):
            i = self._match[r]
            if i == _NONE or self._differs(r, i):
                continue
            order = self._ledger[i]
            if order.awaiting_acknowledgement and self._status[r] == _STATUS_CODE[order.status]:
                found.append((order.trade_id, order.status, self._line[r]))
        return found

    def confirm(self, acknowledged_trade_ids: set[str]) -> None:
        """The trades the caller did acknowledge (a concurrent acknowledgement may have won)."""
        self._acknowledged = {self._by_trade[t] for t in acknowledged_trade_ids}

    # -- second read --------------------------------------------------------------------------

    def result(self, row: OrderRow) -> MatchResult:
        """The result of ``row``; rows come again in the order ``add`` saw them."""
        assert self._resolved
        r = self._cursor
        assert r < len(self._line) and self._line[r] == row.line, (row.line, r)
        self._cursor += 1
        i = self._match[r]
        if i == _NONE:
            duplicated = self._duplicate_of.get(r)
            if duplicated is None:
                return MatchResult(
                    row.line, row.partner_order_id, None, None, MISSING_IN_LEDGER, None
                )
            order = self._ledger[duplicated]
            return MatchResult(
                row.line,
                row.partner_order_id,
                order.trade_id,
                order.quote_id,
                MISSING_IN_LEDGER,
                None,
                duplicate_of_line=self._line[self._claimed_by[duplicated]],
            )
        order = self._ledger[i]
        differences = self._differences(row, order)
        values_differ = any(d.field in VALUE_FIELDS for d in differences)
        return MatchResult(
            line=row.line,
            partner_order_id=row.partner_order_id,
            trade_id=order.trade_id,
            quote_id=order.quote_id,
            outcome=MISMATCHED if values_differ else MATCHED,
            tier=TIERS[self._tier[r] - 1],
            differences=differences,
            acknowledged=i in self._acknowledged,
        )

    def _differences(self, row: OrderRow, order: LedgerOrder) -> tuple[Difference, ...]:
        found = []
        fmt = self._currencies.format
        if row.amount_minor != order.amount_minor or row.currency != order.currency:
            if row.amount_minor != order.amount_minor:
                found.append(
                    Difference(
                        "amount",
                        fmt(row.amount_minor, row.currency),
                        fmt(order.amount_minor, order.currency),
                    )
                )
            if row.currency != order.currency:
                found.append(Difference("currency", row.currency, order.currency))
        if row.status is not None and row.status != order.status:
            found.append(Difference("status", row.status, order.status))
        for name, theirs, ours in (
            ("trade_id", row.trade_id, order.trade_id),
            ("quote_id", row.quote_id, order.quote_id),
            ("partner_order_id", row.partner_order_id, order.partner_order_id),
        ):
            if theirs is not None and theirs != ours:
                found.append(Difference(name, theirs, ours))
        return tuple(found)

    def missing_in_file(self) -> Iterator[MatchResult]:
        """Trades of the window no row took, in ledger order."""
        assert self._resolved and self._cursor == len(self._line), "results first"
        for i, order in enumerate(self._ledger):
            if order.in_window and self._claimed_by[i] == _NONE:
                yield MatchResult(
                    None,
                    order.partner_order_id,
                    order.trade_id,
                    order.quote_id,
                    MISSING_IN_FILE,
                    None,
                )

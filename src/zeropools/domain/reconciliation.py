"""Reconciliation rows: one per trade and per pay-in of a day, and when each is reconciled.

The product brief's integration rule: never trust a button click or a current balance; join the
funding reference, the ledger entries, the quote id, the trade id, the terminal status and the
partner's own order id. A row is that join for one trade or one pay-in, and its state says
whether finance still has to look at it:

    kind    status                                    state
    trade   reserved, debited                         open (not terminal yet)
    trade   settled, released                         reconciled
    trade   failed, returned                          open until acknowledged, then reconciled
    payin   pending_confirmation, needs_review        open (the bank or the operator decides)
    payin   credited                                  reconciled
    payin   returned after a credit (a recall)        open until acknowledged, then reconciled
    payin   returned before any credit                reconciled (the balance never moved)

Failed and returned movements are the ones the brief says to "reconcile before closing finance
reports": somebody has to say they saw them, by hand (``acknowledge``) or by a partner file
that reports the same final status (``matching``). The statuses acknowledged are final, so an
acknowledgement is a fact kept forever, never undone.

Pure: rows are computed from the records a service read; ``acknowledge`` returns the fact to
store, or refuses. Days are passed in as a date and a ``tzinfo``; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo

from zeropools.domain import limits, payins, trades
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import InvalidTransition, ValidationFailed
from zeropools.domain.ledger import LedgerEntry, partner_deltas
from zeropools.domain.payins import Payin
from zeropools.domain.trades import Trade

TRADE = "trade"
PAYIN = "payin"
KINDS = (TRADE, PAYIN)

OPEN = "open"
RECONCILED = "reconciled"
STATES = (OPEN, RECONCILED)

ACKNOWLEDGED = "acknowledged"  # the ``to_status`` of a refused acknowledgement
BY_HAND = "api"  # POST /v1/reconciliation/{id}/acknowledge
BY_MATCH = "match"  # a partner file reporting the same final status
SOURCES = (BY_HAND, BY_MATCH)

# Final statuses that moved money back or failed to move it: someone must have seen them.
TRADE_STATUSES_TO_ACKNOWLEDGE = frozenset({trades.FAILED, trades.RETURNED})
PAYIN_STATUSES_PENDING = frozenset({payins.PENDING_CONFIRMATION, payins.NEEDS_REVIEW})


@dataclass(frozen=True)
class Acknowledgement:
    """Somebody saw a failed or returned movement: who (an API key id), when, and why."""

    partner_id: str
    item_id: str  # the trade or pay-in id
    kind: str
    status: str  # the final status acknowledged
    acknowledged_by: str
    acknowledged_at: str
    note: str
    source: str
    request_id: str

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        assert self.source in SOURCES, self.source


@dataclass(frozen=True)
class ReconRow:
    """One trade or pay-in of a day, joined to its entries, ids and acknowledgement."""

    id: str  # the trade id or pay-in id: what acknowledge takes
    kind: str
    partner_id: str
    partner_order_id: str | None
    pool_id: str | None
    quote_id: str | None
    trade_id: str | None
    payin_id: str | None
    currency: str
    amount_minor: int | None  # the trade's source amount, the pay-in's amount (None: not exact)
    balance_delta_minor: int  # net change of ``available`` over the row's entries
    ledger_ref: str  # the id the row's entries carry: the quote id, or the pay-in id
    ledger_entry_ids: tuple[str, ...]
    trade_status: str | None
    payin_status: str | None
    funding_reference: str | None
    request_id: str
    created_at: str
    needs_acknowledgement: bool
    acknowledgement: Acknowledgement | None

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        assert (self.kind == TRADE) == (self.trade_status is not None), self
        assert (self.kind == PAYIN) == (self.payin_status is not None), self
        assert self.acknowledgement is None or self.needs_acknowledgement, self

    @property
    def status(self) -> str:
        found = self.trade_status if self.kind == TRADE else self.payin_status
        assert found is not None
        return found

    @property
    def state(self) -> str:
        return state_of(self.kind, self.status, self.needs_acknowledgement, self.acknowledgement)


def needs_acknowledgement(kind: str, status: str, *, credited: bool = False) -> bool:
    """Whether a row in ``status`` stays open until somebody acknowledges it.

    ``credited``: for a pay-in, whether a credit was ever posted for it (a returned pay-in that
    was credited is a bank recall: the partner's balance went up and down again).
    """
    if kind == TRADE:
        assert status in trades.STATUSES, status
        return status in TRADE_STATUSES_TO_ACKNOWLEDGE
    assert kind == PAYIN and status in payins.STATUSES, (kind, status)
    return status == payins.RETURNED and credited


def state_of(
    kind: str, status: str, needs_ack: bool, acknowledgement: Acknowledgement | None
) -> str:
    if kind == TRADE and status in trades.PENDING_STATUSES:
        return OPEN
    if kind == PAYIN and status in PAYIN_STATUSES_PENDING:
        return OPEN
    if needs_ack and acknowledgement is None:
        return OPEN
    return RECONCILED


def available_delta_minor(entries: Iterable[LedgerEntry]) -> int:
    """Net change of ``available`` over ``entries``: ``-100.00`` for a debited or reserved
    trade (the brief's example row), ``0.00`` once it is released or refunded."""
    return sum(partner_deltas(entry.lines)[0] for entry in entries)


def trade_row(
    trade: Trade,
    entries: Iterable[LedgerEntry],
    acknowledgement: Acknowledgement | None,
    funding_reference: str | None,
) -> ReconRow:
    """The row of ``trade``; ``funding_reference`` is the partner's for the trade's currency
    (what funded the balance the trade drew on)."""
    mine = sorted(entries, key=lambda e: e.sequence)
    assert all(e.links.trade_id == trade.id for e in mine), (trade.id, mine)
    needs = needs_acknowledgement(TRADE, trade.status)
    return ReconRow(
        id=trade.id,
        kind=TRADE,
        partner_id=trade.partner_id,
        partner_order_id=trade.partner_order_id,
        pool_id=trade.pool_id,
        quote_id=trade.quote_id,
        trade_id=trade.id,
        payin_id=None,
        currency=trade.currency,
        amount_minor=trade.source_amount_minor,
        balance_delta_minor=available_delta_minor(mine),
        ledger_ref=trade.quote_id,
        ledger_entry_ids=tuple(e.id for e in mine),
        trade_status=trade.status,
        payin_status=None,
        funding_reference=funding_reference,
        request_id=_request_of_trade(trade, mine),
        created_at=to_rfc3339(trade.created_at),
        needs_acknowledgement=needs,
        acknowledgement=acknowledgement if needs else None,
    )


def payin_row(
    payin: Payin, entries: Iterable[LedgerEntry], acknowledgement: Acknowledgement | None
) -> ReconRow:
    """The row of a pay-in attributed to a partner (its credit, and a recall's reversal)."""
    assert payin.partner_id is not None, payin.id
    mine = sorted(entries, key=lambda e: e.sequence)
    assert all(e.links.payin_id == payin.id for e in mine), (payin.id, mine)
    needs = needs_acknowledgement(PAYIN, payin.status, credited=payin.ledger_entry_id is not None)
    return ReconRow(
        id=payin.id,
        kind=PAYIN,
        partner_id=payin.partner_id,
        partner_order_id=None,
        pool_id=None,
        quote_id=None,
        trade_id=None,
        payin_id=payin.id,
        currency=payin.currency,
        amount_minor=payin.amount_minor,
        balance_delta_minor=available_delta_minor(mine),
        ledger_ref=payin.id,
        ledger_entry_ids=tuple(e.id for e in mine),
        trade_status=None,
        payin_status=payin.status,
        funding_reference=payin.funding_reference,
        request_id=payin.request_id,
        created_at=payin.created_at,
        needs_acknowledgement=needs,
        acknowledgement=acknowledgement if needs else None,
    )


def acknowledge(
    row: ReconRow,
    *,
    by: str,
    note: str,
    source: str,
    request_id: str,
    now: datetime,
) -> Acknowledgement | None:
    """The acknowledgement of ``row``; None when it is already acknowledged (the first one
    stands, so a retry is harmless). Refuses (``invalid_transition``) a row that needs none."""
    if row.acknowledgement is not None:
        return None
    if not row.needs_acknowledgement:
        pending = (row.kind == TRADE and row.status in trades.PENDING_STATUSES) or (
            row.kind == PAYIN and row.status in PAYIN_STATUSES_PENDING
        )
        hint = (
            "it is not final yet; acknowledge it once it has failed or been returned"
            if pending
            else "only failed or returned trades and recalled pay-ins are acknowledged"
        )
        raise InvalidTransition(
            f"The {row.kind} {row.id} is {row.status} and needs no acknowledgement: {hint}.",
            from_status=row.status,
            to_status=ACKNOWLEDGED,
            reconciliation_state=row.state,
        )
    return Acknowledgement(
        partner_id=row.partner_id,
        item_id=row.id,
        kind=row.kind,
        status=row.status,
        acknowledged_by=by,
        acknowledged_at=to_rfc3339(now),
        note=note,
        source=source,
        request_id=request_id,
    )


def with_acknowledgement(row: ReconRow, acknowledgement: Acknowledgement) -> ReconRow:
    """``row`` once ``acknowledgement`` is stored."""
    assert acknowledgement.item_id == row.id and row.needs_acknowledgement, (row, acknowledgement)
    return replace(row, acknowledgement=acknowledgement)


# -- days --------------------------------------------------------------------------------------


def parse_day(text: str) -> date:
    """``2026-11-23``; anything else is a 422 naming the ``date`` parameter."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.field(
            "date", "a calendar day such as 2026-11-23", f"date: {text!r} is not a calendar day"
        ) from None
    check_day(day)
    return day


def check_day(day: date) -> None:
    """Refuse a day outside the years the service can bound in UTC (``DAY_YEAR_MIN..MAX``)."""
    if not limits.DAY_YEAR_MIN <= day.year <= limits.DAY_YEAR_MAX:
        raise ValidationFailed.field(
            "date", f"a day from {limits.DAY_YEAR_MIN} to {limits.DAY_YEAR_MAX}", f"date: {day}"
        )


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``day`` in ``tz``: 23 or 25 hours on the days clocks change."""
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start, end


def days_between(first: date, last: date) -> int:
    """How many calendar days ``first..last`` covers, both included."""
    return (last - first).days + 1


def _request_of_trade(trade: Trade, entries: list[LedgerEntry]) -> str:
    """The execution's request: stored with the trade, and the one of its first entry."""
    if trade.request_id is not None:
        return trade.request_id
    return entries[0].request_id if entries else ""

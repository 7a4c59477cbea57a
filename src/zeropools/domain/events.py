"""Events: the push side of the ledger (API.md "events"), decided here, written by the outbox.

An event is written in the same transaction as the change it describes, on a *stream*: the
partner's own (gap-free ``sequence`` from 1 per partner) or the platform's (``PLATFORM_STREAM``,
what operators see without ``?partner_id=``). Its body is fixed when it is written — ``data.object``
is the object as ``GET`` returned it at that moment — and is served and delivered byte for byte
ever after, so a webhook and ``GET /v1/events`` can never disagree.

Balance crossings are facts of the postings, not of any one use case: whatever moved a partner's
``available`` across its low-balance threshold emits ``balance.low`` (downwards) or
``balance.replenished`` (back up), so no use case can forget them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from zeropools.domain.ledger import AVAILABLE, LedgerEntry, LedgerHead

PLATFORM_STREAM = "platform"

PAYIN_CREDITED = "payin.credited"
PAYIN_RETURNED = "payin.returned"
PAYIN_REVERSED = "payin.reversed"
PAYIN_NEEDS_REVIEW = "payin.needs_review"  # platform stream only
TRADE_RESERVED = "trade.reserved"
TRADE_DEBITED = "trade.debited"
TRADE_SETTLED = "trade.settled"
TRADE_RELEASED = "trade.released"
TRADE_FAILED = "trade.failed"
TRADE_RETURNED = "trade.returned"
TRADE_REFUSED = "trade.refused"
ADJUSTMENT_POSTED = "adjustment.posted"
BALANCE_LOW = "balance.low"
BALANCE_REPLENISHED = "balance.replenished"
PERIOD_CLOSED = "period.closed"
# not in API.md's list (an addition, docs/api-notes.md): a row acknowledged by hand or by a match
RECONCILIATION_ACKNOWLEDGED = "reconciliation.acknowledged"

EVENT_TYPES = frozenset(
    {
        PAYIN_CREDITED,
        PAYIN_RETURNED,
        PAYIN_REVERSED,
        PAYIN_NEEDS_REVIEW,
        TRADE_RESERVED,
        TRADE_DEBITED,
        TRADE_SETTLED,
        TRADE_RELEASED,
        TRADE_FAILED,
        TRADE_RETURNED,
        TRADE_REFUSED,
        ADJUSTMENT_POSTED,
        BALANCE_LOW,
        BALANCE_REPLENISHED,
        PERIOD_CLOSED,
        RECONCILIATION_ACKNOWLEDGED,
    }
)

# the trade status a trade event announces (API.md: one event per status a trade reaches)
TRADE_EVENT_BY_STATUS = {
    "reserved": TRADE_RESERVED,
    "debited": TRADE_DEBITED,
    "settled": TRADE_SETTLED,
    "released": TRADE_RELEASED,
    "failed": TRADE_FAILED,
    "returned": TRADE_RETURNED,
}


@dataclass(frozen=True)
class EventDraft:
    """An event before the outbox gives it an id, a sequence and a time."""

    stream: str
    type: str
    object: Mapping[str, Any]

    def __post_init__(self) -> None:
        assert self.type in EVENT_TYPES, self.type
        assert self.stream, "an event belongs to a stream"


@dataclass(frozen=True)
class Event:
    """A written event; ``body`` is its JSON as served and delivered, byte for byte."""

    id: str
    stream: str
    sequence: int
    type: str
    created_at: str
    request_id: str | None
    body: bytes
    subject_id: str | None = None  # the id of ``data.object``: what support finds events by


def event_body(
    *,
    event_id: str,
    draft: EventDraft,
    sequence: int,
    created_at: str,
    request_id: str | None,
    ledger_head: LedgerHead | None,
) -> dict[str, Any]:
    """The event object of API.md; its ``data.object`` is the draft's object as rendered.

    ``ledger_head`` (an addition, docs/api-notes.md) is the partner's ledger head as of the
    event's transaction: every event hands the partner the ``sequence`` and ``hash`` its chain
    had then. Someone who rewrites the database consistently (amounts, hashes, head, balances)
    can fool ``verify``, which reads only that database, but not a partner holding a head the
    rewritten chain no longer has at that sequence. ``None`` on the platform stream.
    """
    return {
        "id": event_id,
        "object": "event",
        "type": draft.type,
        "sequence": sequence,
        "created_at": created_at,
        "request_id": request_id,
        "data": {"object": dict(draft.object)},
        "ledger_head": (
            None
            if ledger_head is None
            else {"sequence": ledger_head.sequence, "hash": ledger_head.hash}
        ),
    }


@dataclass(frozen=True)
class AvailableMove:
    """How one transaction moved a partner's ``available`` in one currency."""

    partner_id: str
    currency: str
    before_minor: int
    after_minor: int
    reserved_after_minor: int


def available_moves(entries: Iterable[LedgerEntry]) -> list[AvailableMove]:
    """Net move of ``available`` per (partner, currency) over ``entries``, in sequence order.

    ``before`` is read off the first entry (its ``available_after`` minus its own ``available``
    line), ``after`` off the last, so several entries in one transaction make one move.
    """
    first: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], LedgerEntry] = {}
    for entry in sorted(entries, key=lambda e: (e.partner_id, e.sequence)):
        key = (entry.partner_id, entry.currency)
        moved = sum(line.amount_minor for line in entry.lines if line.account == AVAILABLE)
        first.setdefault(key, entry.available_after_minor - moved)
        last[key] = entry
    return [
        AvailableMove(
            p,
            c,
            first[(p, c)],
            last[(p, c)].available_after_minor,
            last[(p, c)].reserved_after_minor,
        )
        for (p, c) in first
    ]


def balance_crossing(threshold_minor: int | None, move: AvailableMove) -> str | None:
    """``balance.low`` when ``available`` went below the threshold, ``balance.replenished`` when
    it came back to it or above; None when it stayed on one side (or there is no threshold)."""
    if threshold_minor is None:
        return None
    was_low = move.before_minor < threshold_minor
    is_low = move.after_minor < threshold_minor
    if is_low and not was_low:
        return BALANCE_LOW
    if was_low and not is_low:
        return BALANCE_REPLENISHED
    return None

"""Support packets: one story, told the same way from any of its ids.

The product brief: "Support starts from request id, quote id, trade id, event id, and ledger
id." A story is one of:

- ``trade``: a trade, its quote, its entries (the debit or reservation, then the settlement,
  refund, release or return), the refused executions of its order or quote, and the events its
  requests wrote or that are about it; other trades of the same order (a retry after a release
  or failure) are named in ``related_trade_ids``;
- ``order``: an order (or quote) that never traded: its quotes and refused executions;
- ``funding``: a funding reference: the pay-ins it attributed (newest first, at most
  ``SUPPORT_PACKET_PAYINS_MAX``) and their credits and recalls;
- ``entry``: an entry of neither (an adjustment): the entry and its request's events.

``services.support`` resolves whichever id it is given to the story's records; ``packet`` here
builds the answer from the records alone, so the same story gives the same packet (its ``id``
included) whichever id led to it.

The timeline has one item per request (what it did first), per entry (the balances before and
after it), per event, per webhook delivery and per refusal, sorted by time, then in that order
of kinds, then by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zeropools.domain.clock import to_rfc3339
from zeropools.domain.events import Event
from zeropools.domain.ledger import PAYIN_CREDIT, LedgerEntry, partner_deltas
from zeropools.domain.money import Currencies
from zeropools.domain.payins import Payin
from zeropools.domain.quotes import Quote
from zeropools.domain.trades import Refusal, Trade

TRADE_STORY = "trade"
ORDER_STORY = "order"
FUNDING_STORY = "funding"
ENTRY_STORY = "entry"
STORIES = (TRADE_STORY, ORDER_STORY, FUNDING_STORY, ENTRY_STORY)

REQUEST = "request"
ENTRY = "entry"
EVENT = "event"
DELIVERY = "delivery"
REFUSAL = "refusal"
TIMELINE_KINDS = (REQUEST, REFUSAL, ENTRY, EVENT, DELIVERY)  # the order within one instant


@dataclass(frozen=True)
class Delivery:
    """One webhook attempt of one of the story's events."""

    id: str
    event_id: str
    attempted_at: str
    status: str
    status_code: int | None


@dataclass(frozen=True)
class Story:
    kind: str
    partner_id: str
    anchor: str  # the story's own id: a trade, a quote, an order, a reference, an entry
    trade: Trade | None = None
    quotes: tuple[Quote, ...] = ()
    related_trades: tuple[Trade, ...] = ()
    partner_order_id: str | None = None
    funding_reference: str | None = None
    payins: tuple[Payin, ...] = ()
    entries: tuple[LedgerEntry, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    events: tuple[Event, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    truncated: bool = False  # more pay-ins or entries than a packet lists

    def __post_init__(self) -> None:
        assert self.kind in STORIES, self.kind
        assert (self.kind == TRADE_STORY) == (self.trade is not None), self.kind

    @property
    def request_ids(self) -> list[str]:
        """Every request of the story, in order of first appearance in time."""
        return [item.id for item in _requests(self)]


@dataclass(frozen=True)
class TimelineItem:
    at: str
    kind: str
    id: str
    summary: str


@dataclass(frozen=True)
class SupportPacket:
    """The brief's support packet, plus the story's entries, ids and timeline."""

    id: str
    story: Story
    pool_id: str | None
    quote_id: str | None
    trade_id: str | None
    partner_order_id: str | None
    funding_reference: str | None
    ledger_entry_id: str | None
    balance_delta_minor: int
    currency: str | None
    request_id: str | None
    trade_status: str | None
    timeline: tuple[TimelineItem, ...]


def packet(story: Story, currencies: Currencies) -> SupportPacket:
    trade = story.trade
    entries = sorted(story.entries, key=lambda e: (e.created_at, e.sequence))
    first_entry = entries[0] if entries else None
    latest_quote = story.quotes[-1] if story.quotes else None
    if story.kind == FUNDING_STORY:
        credits = [e for e in entries if e.type == PAYIN_CREDIT]
        first_entry = credits[-1] if credits else None  # the latest credit
    currency = (
        trade.currency
        if trade is not None
        else first_entry.currency
        if first_entry is not None
        else latest_quote.source_currency
        if latest_quote is not None
        else story.payins[0].currency
        if story.payins
        else None
    )
    return SupportPacket(
        id=f"sp_{story.anchor}",
        story=story,
        pool_id=trade.pool_id if trade else latest_quote.pool_id if latest_quote else None,
        quote_id=trade.quote_id if trade else latest_quote.id if latest_quote else None,
        trade_id=trade.id if trade else None,
        partner_order_id=story.partner_order_id,
        funding_reference=story.funding_reference,
        ledger_entry_id=first_entry.id if first_entry is not None else None,
        balance_delta_minor=sum(partner_deltas(e.lines)[0] for e in entries),
        currency=currency,
        request_id=_main_request(story, first_entry),
        trade_status=trade.status if trade else None,
        timeline=timeline(story, currencies),
    )


def _main_request(story: Story, first_entry: LedgerEntry | None) -> str | None:
    """The request the packet is about: the trade's execution, the latest refusal of an
    order, the latest pay-in, or the entry's."""
    if story.trade is not None:
        return story.trade.request_id or (first_entry.request_id if first_entry else None)
    if story.kind == ORDER_STORY and story.refusals:
        return story.refusals[-1].request_id
    if story.kind == FUNDING_STORY and story.payins:
        return story.payins[0].request_id
    return first_entry.request_id if first_entry is not None else None


def timeline(story: Story, currencies: Currencies) -> tuple[TimelineItem, ...]:
    items = list(_requests(story))
    items += [_refusal_item(r) for r in story.refusals]
    items += [_entry_item(e, currencies) for e in story.entries]
    items += [
        TimelineItem(e.created_at, EVENT, e.id, f"{e.type} (#{e.sequence})") for e in story.events
    ]
    items += [_delivery_item(d) for d in story.deliveries]
    rank = {kind: n for n, kind in enumerate(TIMELINE_KINDS)}
    return tuple(sorted(items, key=lambda item: (item.at, rank[item.kind], item.id)))


def _requests(story: Story) -> list[TimelineItem]:
    """One item per request: when it first appears and what it did first (by the order of
    ``_request_records``)."""
    first: dict[str, TimelineItem] = {}
    for at, request_id, summary in sorted(_request_records(story), key=lambda r: r[0]):
        if request_id and request_id not in first:
            first[request_id] = TimelineItem(at, REQUEST, request_id, summary)
    return sorted(first.values(), key=lambda item: (item.at, item.id))


def _request_records(story: Story) -> Iterable[tuple[str, str | None, str]]:
    for quote in story.quotes:
        yield (
            to_rfc3339(quote.created_at),
            quote.request_id,
            f"quote {quote.id} for {quote.pool_id}",
        )
    for trade in (*([story.trade] if story.trade else []), *story.related_trades):
        yield (
            to_rfc3339(trade.created_at),
            trade.request_id,
            f"executed {trade.quote_id} as {trade.id} (order {trade.partner_order_id})",
        )
    for refusal in story.refusals:
        yield (refusal.created_at, refusal.request_id, f"execution refused: {refusal.code}")
    for payin in story.payins:
        yield (
            payin.created_at,
            payin.request_id,
            f"bank credit {payin.bank_transaction_id} recorded as {payin.id}",
        )
    for entry in story.entries:
        yield (entry.created_at, entry.request_id, f"posted {entry.type}")
    for event in story.events:
        yield (event.created_at, event.request_id, f"announced {event.type}")


def _entry_item(entry: LedgerEntry, currencies: Currencies) -> TimelineItem:
    fmt = currencies.format
    d_available, d_reserved = partner_deltas(entry.lines)
    available_after, reserved_after = entry.available_after_minor, entry.reserved_after_minor
    c = entry.currency
    summary = (
        f"{entry.type} {fmt(entry.amount_minor, c)} {c}: available "
        f"{fmt(available_after - d_available, c)} -> {fmt(available_after, c)}, reserved "
        f"{fmt(reserved_after - d_reserved, c)} -> {fmt(reserved_after, c)}"
    )
    return TimelineItem(entry.created_at, ENTRY, entry.id, summary)


def _refusal_item(refusal: Refusal) -> TimelineItem:
    return TimelineItem(
        refusal.created_at, REFUSAL, refusal.id, f"{refusal.code}: {refusal.detail}"
    )


def _delivery_item(delivery: Delivery) -> TimelineItem:
    code = f" (HTTP {delivery.status_code})" if delivery.status_code is not None else ""
    return TimelineItem(
        delivery.attempted_at,
        DELIVERY,
        delivery.id,
        f"webhook delivery of {delivery.event_id}: {delivery.status}{code}",
    )

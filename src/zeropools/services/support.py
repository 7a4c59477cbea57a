"""Support packets: any one id of a story leads to the whole story (``domain.support``).

``support_packet`` takes exactly one id and resolves it, in one read snapshot, to the records of
its story:

- ``trade_id``; ``quote_id`` (its trade, else its order, else the quote alone);
  ``partner_order_id`` (the order's latest trade, else its quotes and refusals); a
  ``ledger_entry_id`` (its trade's, its pay-in's funding, or the entry alone); a
  ``request_id`` (whatever that request wrote: an entry, a trade, a quote, a refusal, a pay-in,
  or an event, by what the event is about);
- ``funding_reference`` and ``payin_id``: the funding story of the reference.

A partner key only ever resolves its own partner's ids: another partner's is the 404 of an
unknown id. Operators resolve any id; a ``partner_order_id`` is only unique within a partner,
so operators name the partner (``partner_id``) with it.

Webhook deliveries join the timeline through ``webhook_deliveries``: every attempt to push the
story's events to the partner's endpoints, so support sees whether, when and how the partner
was told.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zeropools.domain import limits
from zeropools.domain import support as sp
from zeropools.domain.errors import NotFound, ValidationFailed
from zeropools.domain.events import Event
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN, PARTNER_SERVER
from zeropools.domain.payins import Payin
from zeropools.domain.quotes import Quote
from zeropools.domain.support import Delivery, Story, SupportPacket
from zeropools.domain.trades import Refusal, Trade
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.store.protocol import Tx

ANY_ROLE = (OPERATOR, PARTNER_ADMIN, PARTNER_SERVER)
ID_PARAMETERS = (
    "trade_id",
    "quote_id",
    "ledger_entry_id",
    "request_id",
    "funding_reference",
    "partner_order_id",
    "payin_id",
)
_EVENTS_MAX = limits.SUPPORT_PACKET_ENTRIES_MAX
_DELIVERIES_MAX = limits.SUPPORT_PACKET_ENTRIES_MAX  # retries of a dead endpoint can be many


def support_packet(
    dep: Deployment, ctx: Ctx, *, partner_id: str | None, ids: Mapping[str, str | None]
) -> SupportPacket:
    actor = require_role(ctx, *ANY_ROLE)
    given = [(name, value) for name, value in ids.items() if value]
    assert {name for name, _ in given} <= set(ID_PARAMETERS), given
    if len(given) != 1:
        raise ValidationFailed.field(
            "id", f"exactly one of {', '.join(ID_PARAMETERS)}", "Send exactly one id."
        )
    name, value = given[0]
    assert value is not None
    if actor.is_operator:
        owner = partner_id or None
    else:
        if partner_id and partner_id != actor.partner_id:
            raise NotFound(f"No partner {partner_id!r}.")
        owner = actor.partner_id
    if name == "partner_order_id" and owner is None:
        raise ValidationFailed.field(
            "partner_id", "required with partner_order_id for operator keys"
        )
    with dep.store.reading() as tx:
        story = _resolve(tx, name, value, owner)
    if story is None:
        raise NotFound(f"No {name.replace('_', ' ')} {value!r}.")
    return sp.packet(story, dep.currencies)


def _mine(partner_id: str | None, owner: str | None) -> bool:
    return partner_id is not None and owner in (None, partner_id)


def _resolve(tx: Tx, name: str, value: str, owner: str | None) -> Story | None:
    if name == "trade_id":
        trade = tx.get_trade(value)
        return trade_story(tx, trade) if trade and _mine(trade.partner_id, owner) else None
    if name == "quote_id":
        stored = tx.get_quote(value)
        if stored is None or not _mine(stored.quote.partner_id, owner):
            return None
        return _quote_story(tx, stored.quote)
    if name == "partner_order_id":
        assert owner is not None
        return _order_story(tx, owner, value)
    if name == "ledger_entry_id":
        entry = tx.get_entry(owner, value)
        return _entry_story(tx, entry) if entry is not None else None
    if name == "payin_id":
        payin = tx.get_payin(value)
        return _payin_story(tx, payin) if payin and _mine(payin.partner_id, owner) else None
    if name == "funding_reference":
        found = tx.reference_owners([value]).get(value)
        if found is None or not _mine(found.partner_id, owner):
            return None
        return _funding_story(tx, found.partner_id, value)
    assert name == "request_id", name
    return _request_story(tx, value, owner)


def trade_story(tx: Tx, trade: Trade) -> Story:
    partner_id = trade.partner_id
    entries = tx.trade_entries(partner_id, [trade.id]).get(trade.id, [])
    of_order = tx.trades_of_order(partner_id, trade.partner_order_id)
    quotes = {q.id: q for q in tx.quotes_of_order(partner_id, trade.partner_order_id)}
    own = tx.get_quote(trade.quote_id)
    if own is not None:
        quotes[own.quote.id] = own.quote
    refusals = tx.refusals_of(partner_id, trade.partner_order_id, [trade.quote_id])
    partner = tx.get_partner(partner_id)
    pc = partner.currency(trade.currency) if partner is not None else None
    requests = {
        trade.request_id,
        *(q.request_id for q in quotes.values()),
        *(e.request_id for e in entries),
        *(r.request_id for r in refusals),
    }
    events = tx.events_of(
        partner_id,
        request_ids=sorted(r for r in requests if r),
        subject_ids=[trade.id, *(r.id for r in refusals)],
        limit=_EVENTS_MAX,
    )
    return Story(
        kind=sp.TRADE_STORY,
        partner_id=partner_id,
        anchor=trade.id,
        trade=trade,
        quotes=tuple(sorted(quotes.values(), key=lambda q: (q.created_at, q.id))),
        related_trades=tuple(t for t in of_order if t.id != trade.id),
        partner_order_id=trade.partner_order_id,
        funding_reference=pc.funding_reference if pc is not None else None,
        entries=tuple(entries),
        refusals=tuple(refusals),
        events=tuple(events),
        deliveries=webhook_deliveries(tx, partner_id, [e.id for e in events]),
    )


def _quote_story(tx: Tx, quote: Quote) -> Story | None:
    trade = tx.trade_of_quote(quote.id)
    if trade is not None:
        return trade_story(tx, trade)
    if quote.partner_order_id is not None:
        return _order_story(tx, quote.partner_id, quote.partner_order_id)
    refusals = tx.refusals_of(quote.partner_id, None, [quote.id])
    return _untraded(tx, quote.partner_id, None, [quote], refusals)


def _order_story(tx: Tx, partner_id: str, partner_order_id: str) -> Story | None:
    trades = tx.trades_of_order(partner_id, partner_order_id)
    if trades:
        return trade_story(tx, trades[-1])
    quotes = tx.quotes_of_order(partner_id, partner_order_id)
    refusals = tx.refusals_of(partner_id, partner_order_id, [q.id for q in quotes])
    if not quotes and not refusals:
        return None
    return _untraded(tx, partner_id, partner_order_id, quotes, refusals)


def _untraded(
    tx: Tx,
    partner_id: str,
    partner_order_id: str | None,
    quotes: Sequence[Quote],
    refusals: Sequence[Refusal],
) -> Story:
    """An order (or a lone quote) that never traded: its quotes and refused executions."""
    requests = sorted({r.request_id for r in refusals} | {q.request_id or "" for q in quotes})
    events = tx.events_of(
        partner_id,
        request_ids=[r for r in requests if r],
        subject_ids=[r.id for r in refusals],
        limit=_EVENTS_MAX,
    )
    anchor = quotes[0].id if quotes else refusals[0].id
    return Story(
        kind=sp.ORDER_STORY,
        partner_id=partner_id,
        anchor=anchor,
        quotes=tuple(quotes),
        partner_order_id=partner_order_id,
        refusals=tuple(refusals),
        events=tuple(events),
        deliveries=webhook_deliveries(tx, partner_id, [e.id for e in events]),
    )


def _entry_story(tx: Tx, entry: LedgerEntry) -> Story | None:
    if entry.links.trade_id is not None:
        trade = tx.get_trade(entry.links.trade_id)
        return trade_story(tx, trade) if trade is not None else None
    if entry.links.payin_id is not None:
        payin = tx.get_payin(entry.links.payin_id)
        if payin is not None and payin.partner_id is not None:
            return _payin_story(tx, payin)
    events = tx.events_of(
        entry.partner_id, request_ids=[entry.request_id], subject_ids=[entry.id], limit=_EVENTS_MAX
    )
    return Story(
        kind=sp.ENTRY_STORY,
        partner_id=entry.partner_id,
        anchor=entry.id,
        entries=(entry,),
        events=tuple(events),
        deliveries=webhook_deliveries(tx, entry.partner_id, [e.id for e in events]),
    )


def _payin_story(tx: Tx, payin: Payin) -> Story:
    assert payin.partner_id is not None
    if payin.funding_reference is not None:
        return _funding_story(tx, payin.partner_id, payin.funding_reference)
    return _funding(tx, payin.partner_id, payin.id, None, [payin], truncated=False)


def _funding_story(tx: Tx, partner_id: str, funding_reference: str) -> Story:
    cap = limits.SUPPORT_PACKET_PAYINS_MAX
    found = tx.payins_of_reference(funding_reference, cap + 1)
    mine = [p for p in found[:cap] if p.partner_id == partner_id]
    return _funding(tx, partner_id, funding_reference, funding_reference, mine, len(found) > cap)


def _funding(
    tx: Tx,
    partner_id: str,
    anchor: str,
    funding_reference: str | None,
    payins: Sequence[Payin],
    truncated: bool,
) -> Story:
    """Pay-ins (newest first) with their credits and recalls, and what announced them."""
    by_payin = tx.payin_entries(partner_id, [p.id for p in payins])
    entries = sorted((e for found in by_payin.values() for e in found), key=lambda e: e.sequence)
    requests = sorted({p.request_id for p in payins} | {e.request_id for e in entries})
    events = tx.events_of(
        partner_id,
        request_ids=requests,
        subject_ids=[p.id for p in payins],
        limit=_EVENTS_MAX,
    )
    # a statement import is one request crediting many: keep only what is about these pay-ins
    ids = {p.id for p in payins}
    events = [e for e in events if e.subject_id in ids or e.subject_id is None or _balance(e)]
    return Story(
        kind=sp.FUNDING_STORY,
        partner_id=partner_id,
        anchor=anchor,
        funding_reference=funding_reference,
        payins=tuple(payins),
        entries=tuple(entries),
        events=tuple(events),
        deliveries=webhook_deliveries(tx, partner_id, [e.id for e in events]),
        truncated=truncated,
    )


def _balance(event: Event) -> bool:
    return event.type.startswith("balance.")


def _request_story(tx: Tx, request_id: str, owner: str | None) -> Story | None:
    """Whatever ``request_id`` wrote first: an entry, a trade, a quote, a refusal, a pay-in,
    else an event (by what it is about)."""
    entries = tx.entries_of_request(request_id, owner, 1)
    if entries:
        return _entry_story(tx, entries[0])
    for trade in tx.trades_of_request(request_id):
        if _mine(trade.partner_id, owner):
            return trade_story(tx, trade)
    for quote in tx.quotes_of_request(request_id):
        if _mine(quote.partner_id, owner):
            return _quote_story(tx, quote)
    for refusal in tx.refusals_of_request(request_id):
        if not _mine(refusal.partner_id, owner):
            continue
        if refusal.partner_order_id is not None:
            return _order_story(tx, refusal.partner_id, refusal.partner_order_id)
        stored = tx.get_quote(refusal.quote_id) if refusal.quote_id else None
        if stored is not None:
            return _quote_story(tx, stored.quote)
        return _untraded(tx, refusal.partner_id, None, [], [refusal])
    for payin in tx.payins_of_request(request_id):
        if _mine(payin.partner_id, owner):
            return _payin_story(tx, payin)
    for event in tx.events_of(owner, request_ids=[request_id], limit=_EVENTS_MAX):
        story = _subject_story(tx, event.subject_id, owner)
        if story is not None:
            return story
    return None


def _subject_story(tx: Tx, subject_id: str | None, owner: str | None) -> Story | None:
    """The story an event is about (a trade, a pay-in, an entry); None for a balance."""
    if subject_id is None:
        return None
    if subject_id.startswith("pin_"):
        return _resolve(tx, "payin_id", subject_id, owner)
    if subject_id.startswith("ple_"):
        return _resolve(tx, "ledger_entry_id", subject_id, owner)
    if subject_id.startswith("pt_"):
        return _resolve(tx, "trade_id", subject_id, owner)
    return None


def webhook_deliveries(tx: Tx, partner_id: str, event_ids: Sequence[str]) -> tuple[Delivery, ...]:
    """The webhook attempts of ``event_ids``, oldest first: whether the partner was told."""
    if not event_ids:
        return ()
    attempts = tx.webhook_deliveries_of_events(partner_id, event_ids, _DELIVERIES_MAX)
    return tuple(
        Delivery(a.id, a.event_id, a.attempted_at, a.status, a.status_code) for a in attempts
    )

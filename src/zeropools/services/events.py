"""Events: what each command's result announces, balance crossings, and reading the streams.

``dispatch`` calls ``for_result`` and ``balance_events`` inside the command's transaction and
appends what they return to the outbox (``tx.append_events``), so an event commits exactly when
its change does. Reads serve the stored bodies as they were written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from zeropools.domain import events as ev
from zeropools.domain import ids, limits, payins
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import NotFound, ValidationFailed
from zeropools.domain.events import Event, EventDraft
from zeropools.domain.ledger import LedgerEntry, Posting
from zeropools.domain.paging import Page
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN, PARTNER_SERVER
from zeropools.domain.payins import Payin
from zeropools.domain.readmodels import BalanceView, TradeView
from zeropools.representations import objects as views
from zeropools.representations.encoding import json_bytes
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.store.protocol import Tx

_TYPE = re.compile(r"[a-z_]+\.[a-z_]+")


# -- what results announce ----------------------------------------------------------------------


def trade_event(dep: Deployment, view: TradeView) -> list[EventDraft]:
    kind = ev.TRADE_EVENT_BY_STATUS[view.trade.status]
    return [EventDraft(view.trade.partner_id, kind, views.trade(view, dep.currencies))]


def payin_event(dep: Deployment, payin: Payin, *, announced: bool = True) -> list[EventDraft]:
    """The event a pay-in's new status announces: credited (its partner), waiting for review
    (the platform stream), reversed (a recall, its partner) or returned from review (platform)."""
    if not announced:
        return []
    body = views.payin(payin, dep.currencies)
    if payin.status == payins.CREDITED and payin.partner_id is not None:
        return [EventDraft(payin.partner_id, ev.PAYIN_CREDITED, body)]
    if payin.status == payins.NEEDS_REVIEW:
        return [EventDraft(ev.PLATFORM_STREAM, ev.PAYIN_NEEDS_REVIEW, body)]
    if payin.status == payins.RETURNED:
        if payin.partner_id is not None and payin.ledger_entry_id is not None:
            return [EventDraft(payin.partner_id, ev.PAYIN_REVERSED, body)]
        return [EventDraft(ev.PLATFORM_STREAM, ev.PAYIN_RETURNED, body)]
    return []  # pending confirmation: nothing happened to anyone's money yet


def adjustment_event(dep: Deployment, entry: LedgerEntry) -> list[EventDraft]:
    body = views.ledger_entry(entry, dep.currencies)
    return [EventDraft(entry.partner_id, ev.ADJUSTMENT_POSTED, body)]


def balance_events(
    dep: Deployment, ctx: Ctx, tx: Tx, postings: Sequence[Posting]
) -> list[EventDraft]:
    """``balance.low`` / ``balance.replenished`` for every threshold the postings crossed."""
    entries = [entry for posting in postings for entry in posting.entries]
    drafts: list[EventDraft] = []
    for move in ev.available_moves(entries):
        threshold = _threshold(dep, tx, move.partner_id, move.currency)
        kind = ev.balance_crossing(threshold, move)
        if kind is None:
            continue
        pending = tx.pending_totals(move.partner_id).get(move.currency, 0)
        view = BalanceView(
            partner_id=move.partner_id,
            currency=move.currency,
            available_minor=move.after_minor,
            reserved_minor=move.reserved_after_minor,
            pending_minor=pending,
            low_balance_threshold_minor=threshold,
            as_of=to_rfc3339(ctx.now),
        )
        drafts.append(EventDraft(move.partner_id, kind, views.balance(view, dep.currencies)))
    return drafts


def _threshold(dep: Deployment, tx: Tx, partner_id: str, currency: str) -> int | None:
    key = (partner_id, currency)
    if key not in dep.thresholds:
        partner = tx.get_partner(partner_id)
        assert partner is not None
        for pc in partner.currencies:
            dep.thresholds[(partner_id, pc.currency)] = pc.low_balance_threshold_minor
    return dep.thresholds.get(key)


# -- reading the streams ------------------------------------------------------------------------

ANY_ROLE = (OPERATOR, PARTNER_ADMIN, PARTNER_SERVER)


def stream_of(ctx: Ctx, partner_id: str | None) -> str:
    """A partner key reads its own stream; an operator a partner's (``?partner_id=``) or, without
    one, the platform's. A partner naming another partner gets the 404 of an unknown id."""
    actor = require_role(ctx, *ANY_ROLE)
    if actor.is_operator:
        return partner_id or ev.PLATFORM_STREAM
    assert actor.partner_id is not None
    if partner_id and partner_id != actor.partner_id:
        raise NotFound(f"No partner {partner_id!r}.")
    return actor.partner_id


def list_events(
    dep: Deployment,
    ctx: Ctx,
    *,
    partner_id: str | None,
    after_sequence: int,
    types: Sequence[str],
    page: Page,
) -> list[Event]:
    """Events of one stream after ``after_sequence``, oldest first (``page.limit`` rows)."""
    stream = stream_of(ctx, partner_id)
    if after_sequence < 0:
        raise ValidationFailed.field("after_sequence", "0 or more")
    for kind in types:
        if kind not in ev.EVENT_TYPES:
            raise ValidationFailed.field("type", f"one of {', '.join(sorted(ev.EVENT_TYPES))}")
    if len(types) > limits.EVENT_TYPE_FILTERS_MAX:
        raise ValidationFailed.field("type", f"at most {limits.EVENT_TYPE_FILTERS_MAX} types")

    def work(tx: Tx) -> list[Event]:
        if stream != ev.PLATFORM_STREAM and tx.get_partner(stream) is None:
            raise NotFound(f"No partner {stream!r}.")
        return tx.list_events(stream, after_sequence, tuple(types), page.limit)

    return dep.store.read(work)


def get_event(dep: Deployment, ctx: Ctx, event_id: str) -> Event:
    actor = require_role(ctx, *ANY_ROLE)
    event = dep.store.read(lambda tx: tx.get_event(event_id))
    if event is None or (not actor.is_operator and event.stream != actor.partner_id):
        raise NotFound(f"No event {event_id!r}.")
    return event


def split_types(text: str | None) -> list[str]:
    """``?type=a.b,c.d`` (or repeated ``type=``) as a list; empty means every type."""
    if not text:
        return []
    found = [part.strip() for part in text.split(",") if part.strip()]
    for kind in found:
        if not _TYPE.fullmatch(kind):
            raise ValidationFailed.field("type", "event types such as trade.settled")
    return found


# -- the outbox ---------------------------------------------------------------------------------


def publish(
    ctx: Ctx,
    tx: Tx,
    drafts: Sequence[EventDraft],
    postings: Sequence[Posting] = (),
) -> list[Event]:
    """Write ``drafts`` in ``tx``: per stream, the next gap-free sequences, in draft order.

    ``postings``: what the command appended in ``tx``; a partner's last posting holds the head
    its events carry, so only a stream without one reads its head back."""
    heads = {posting.head.partner_id: posting.head for posting in postings if posting.entries}
    by_stream: dict[str, list[EventDraft]] = {}
    for draft in drafts:
        by_stream.setdefault(draft.stream, []).append(draft)
    created_at = to_rfc3339(ctx.now)
    written: list[Event] = []
    for stream, mine in by_stream.items():
        first_sequence = tx.reserve_event_sequences(stream, len(mine))
        # read after the command's postings, in its transaction: the head they produced
        head = None
        if stream != ev.PLATFORM_STREAM:
            head = heads.get(stream) or tx.ledger_head(stream)
        for offset, draft in enumerate(mine):
            event_id = ids.new_id(ids.EVENT)
            sequence = first_sequence + offset
            body = ev.event_body(
                event_id=event_id,
                draft=draft,
                sequence=sequence,
                created_at=created_at,
                request_id=ctx.request_id,
                ledger_head=head,
            )
            written.append(
                Event(
                    event_id,
                    stream,
                    sequence,
                    draft.type,
                    created_at,
                    ctx.request_id,
                    json_bytes(body),
                    subject_id=_subject(draft),
                )
            )
    tx.insert_events(written)
    return written


def _subject(draft: EventDraft) -> str | None:
    subject = draft.object.get("id")
    return subject if isinstance(subject, str) else None

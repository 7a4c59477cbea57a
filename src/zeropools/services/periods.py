"""Period close: refuse while items are open or the day runs, then sign and freeze the day.

What ``close_in`` does, in the command's write transaction on the partner's lane:

1. a closed day answers the period as it was closed (idempotent; nothing is announced again);
2. the day's failed or returned trades and recalled pay-ins that are not acknowledged refuse
   the close with ``period_has_open_items`` (``domain.periods.open_items``; acknowledgements
   are read through the one port method ``acknowledged_ids``);
3. a day that has not ended in its ``tz`` refuses with ``period_not_ended``;
4. per currency: one streaming pass checks the roll-forward and hashes both export formats,
   the checkpoint is signed with the current key (published if new), and the closing row with
   the seal finishes both sha256s, which are stored: the frozen bytes of the day.

The private key is loaded before the transaction work (a missing key refuses the close with
``signing_key_unavailable`` without touching anything).
"""

from __future__ import annotations

from typing import cast

from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import NotFound, PeriodHasOpenItems, PeriodNotEnded
from zeropools.domain.events import PERIOD_CLOSED, EventDraft
from zeropools.domain.exports import Seal, checkpoint_text, day_window
from zeropools.domain.limits import OPEN_ITEMS_SHOWN_MAX
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN
from zeropools.domain.periods import (
    CLOSED,
    OPEN,
    Candidates,
    CurrencyClose,
    OpenItem,
    Period,
    open_items,
)
from zeropools.representations import objects as views
from zeropools.services import dispatch, signing
from zeropools.services.commands import ClosePeriod
from zeropools.services.context import Ctx, Deployment, require_role, scoped_partner
from zeropools.services.exports import digests_of_day
from zeropools.store.protocol import Tx


class Closed:
    """A close's result: the period, and whether this command closed it (for the event)."""

    def __init__(self, period: Period, newly: bool) -> None:
        self.period = period
        self.newly = newly


def close_lane(dep: Deployment, ctx: Ctx, command: ClosePeriod) -> str | None:
    return scoped_partner(ctx, command.partner_id)


def day_open_items(tx: Tx, partner_id: str, starts_at: str, ends_at: str) -> list[OpenItem]:
    """The rule of ``domain.periods`` over the day's entries, trades, pay-ins and acks."""
    candidates = Candidates.empty()
    for entry in tx.stream_entries(partner_id, created_gte=starts_at, created_lt=ends_at):
        candidates.feed(entry)
    trades = [t for t in map(tx.get_trade, candidates.trade_ids) if t is not None]
    payins = [p for p in map(tx.get_payin, candidates.payin_ids) if p is not None]
    acknowledged = tx.acknowledged_ids(partner_id, [*candidates.trade_ids, *candidates.payin_ids])
    return open_items(trades, payins, acknowledged)


def close_in(dep: Deployment, ctx: Ctx, tx: Tx, command: ClosePeriod) -> Closed:
    require_role(ctx, OPERATOR, PARTNER_ADMIN)
    partner_id = scoped_partner(ctx, command.partner_id)
    window = day_window(command.date, command.tz)
    partner = tx.get_partner(partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id!r}.")
    existing = tx.get_period(partner_id, window.date)
    if existing is not None:
        return Closed(existing, newly=False)
    items = day_open_items(tx, partner_id, window.starts_at, window.ends_at)
    if items:
        raise PeriodHasOpenItems(
            f"{len(items)} failed or returned movements of {window.date} are not acknowledged; "
            "acknowledge them, then close again.",
            items=[item.as_json() for item in items[:OPEN_ITEMS_SHOWN_MAX]],
        )
    if not window.has_ended(ctx.now):
        raise PeriodNotEnded(
            f"{window.date} ends at {window.ends_at} ({window.tz}); close it after that.",
            date=window.date,
            tz=window.tz,
            ends_at=window.ends_at,
        )
    key = signing.current_key(dep)
    now = to_rfc3339(ctx.now)
    signing.register_in(tx, key, now)
    closes = []
    for pc in sorted(partner.currencies, key=lambda pc: pc.currency):
        writer, finish = digests_of_day(dep, tx, partner_id, pc.currency, window)
        text = checkpoint_text(
            partner_id=partner_id,
            currency=pc.currency,
            window=window,
            closing=writer.position,
            currencies=dep.currencies,
        )
        seal = Seal(text, key.sign(text), key.id)
        csv_sha256, jsonl_sha256 = finish(seal)
        closes.append(
            CurrencyClose(
                currency=pc.currency,
                opening=writer.opening_mark,
                closing=writer.position,
                entries=writer.entries,
                checkpoint=seal.checkpoint,
                signature=seal.signature,
                signing_key_id=seal.signing_key_id,
                csv_sha256=csv_sha256,
                jsonl_sha256=jsonl_sha256,
            )
        )
    period = Period(partner_id, window.date, window.tz, CLOSED, now, tuple(closes))
    tx.insert_period(period, ctx.request_id)
    return Closed(period, newly=True)


def close_period(
    dep: Deployment, ctx: Ctx, date: str, tz: str | None = None, partner_id: str | None = None
) -> Closed:
    """Close ``date`` (services, tests, the CLI); routes call the same command."""
    return cast(Closed, dispatch.apply(dep, ctx, ClosePeriod(date, tz, partner_id)))


def announce(dep: Deployment, closed: Closed) -> list[EventDraft]:
    if not closed.newly:
        return []
    body = views.period(closed.period, dep.currencies)
    return [EventDraft(closed.period.partner_id, PERIOD_CLOSED, body)]


def get_period(
    dep: Deployment, ctx: Ctx, date: str, tz: str | None, partner_id: str | None
) -> Period:
    require_role(ctx, OPERATOR, PARTNER_ADMIN)
    owner = scoped_partner(ctx, partner_id)
    window = day_window(date, tz)

    def read(tx: Tx) -> Period:
        if tx.get_partner(owner) is None:
            raise NotFound(f"No partner {owner!r}.")
        found = tx.get_period(owner, window.date)
        return found or Period(owner, window.date, window.tz, OPEN)

    return dep.store.read(read)

"""Balances as partners see them: available, reserved, pending, total, the low flag, and why
they moved in a window (``balance_changes``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from zeropools.domain import limits
from zeropools.domain.balance_changes import BalanceChanges, BalanceChangesView
from zeropools.domain.clock import from_rfc3339, to_rfc3339
from zeropools.domain.errors import NotFound, ValidationFailed
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.paging import Page
from zeropools.domain.partners import (
    OPERATOR,
    PARTNER_ADMIN,
    PARTNER_SERVER,
    Partner,
    PartnerCurrency,
)
from zeropools.domain.readmodels import BalanceView
from zeropools.services.context import Ctx, Deployment, require_role, scoped_partner
from zeropools.services.ledger import time_bound
from zeropools.store.protocol import Tx


def _view(pc: PartnerCurrency, pending: Mapping[str, int], as_of: str) -> BalanceView:
    # pending = trades not yet in an approved terminal state (reserved or debited)
    return BalanceView(
        partner_id=pc.partner_id,
        currency=pc.currency,
        available_minor=pc.balance.available_minor,
        reserved_minor=pc.balance.reserved_minor,
        pending_minor=pending.get(pc.currency, 0),
        low_balance_threshold_minor=pc.low_balance_threshold_minor,
        as_of=as_of,
    )


def _partner(
    dep: Deployment, ctx: Ctx, partner_id: str | None
) -> tuple[Partner, Mapping[str, int]]:
    scoped = scoped_partner(ctx, partner_id)

    def work(tx: Tx) -> tuple[Partner | None, Mapping[str, int]]:
        # one snapshot: balances and pending totals agree with each other
        return tx.get_partner(scoped), tx.pending_totals(scoped)

    partner, pending = dep.store.read(work)
    if partner is None:
        raise NotFound(f"No partner {scoped!r}.")
    return partner, pending


def list_balances(dep: Deployment, ctx: Ctx, partner_id: str | None) -> list[BalanceView]:
    partner, pending = _partner(dep, ctx, partner_id)
    return [_view(pc, pending, to_rfc3339(ctx.now)) for pc in partner.currencies]


def partner_balances(
    dep: Deployment, ctx: Ctx, page: Page
) -> list[tuple[Partner, list[BalanceView]]]:
    """A page of partners, each with its balances (the operator's overview): two queries in
    one snapshot, where ``list_balances`` per partner would read twice per partner."""
    require_role(ctx, OPERATOR)

    def work(tx: Tx) -> tuple[list[Partner], Mapping[str, Mapping[str, int]]]:
        listed = tx.list_partners(page)
        return listed, tx.pending_totals_of([p.id for p in listed])

    listed, pending = dep.store.read(work)
    as_of = to_rfc3339(ctx.now)
    return [(p, [_view(pc, pending.get(p.id, {}), as_of) for pc in p.currencies]) for p in listed]


def get_balance(dep: Deployment, ctx: Ctx, partner_id: str | None, currency: str) -> BalanceView:
    partner, pending = _partner(dep, ctx, partner_id)
    pc = partner.currency(currency)
    if pc is None:
        raise _no_currency(partner, currency)
    return _view(pc, pending, to_rfc3339(ctx.now))


def balance_changes(
    dep: Deployment,
    ctx: Ctx,
    *,
    partner_id: str | None,
    currency: str,
    created_gte: str | None,
    created_lt: str | None,
    page_size: int,
) -> BalanceChangesView:
    """Why the ``currency`` balance moved from ``created_gte`` to ``created_lt`` (RFC 3339;
    default: the current UTC day so far): a roll-forward over every entry of the window,
    streamed, of which the first ``page_size`` are returned (``domain.balance_changes``)."""
    require_role(ctx, OPERATOR, PARTNER_ADMIN, PARTNER_SERVER)
    scoped = scoped_partner(ctx, partner_id)
    gte, lt = _window(ctx, created_gte, created_lt)
    with dep.store.reading() as tx:
        partner = tx.get_partner(scoped)
        if partner is None:
            raise NotFound(f"No partner {scoped!r}.")
        if partner.currency(currency) is None:
            raise _no_currency(partner, currency)
        first_in, last_in = tx.sequence_bounds(scoped, currency, gte, lt)
        low = first_in if first_in is not None else None
        high = last_in if last_in is not None else 0
        if low is None or low > high:
            # nothing in the window: opening and closing are the balance it sat at
            changes = BalanceChanges(currency, tx.balance_through(scoped, currency, high))
            return BalanceChangesView(scoped, currency, gte, lt, changes, (), False)
        changes = BalanceChanges(currency, tx.balance_through(scoped, currency, low - 1))
        first: list[LedgerEntry] = []
        for entry in tx.stream_entries(scoped, currency=currency, after_sequence=low - 1):
            if entry.sequence > high:
                break
            changes.feed(entry)
            if len(first) <= page_size:
                first.append(entry)
    page = tuple(first[:page_size])
    return BalanceChangesView(scoped, currency, gte, lt, changes, page, len(first) > page_size)


def _window(ctx: Ctx, created_gte: str | None, created_lt: str | None) -> tuple[str, str]:
    start = ctx.now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    gte = time_bound("from", created_gte) or to_rfc3339(start)
    lt = time_bound("to", created_lt) or to_rfc3339(ctx.now)
    if gte > lt:
        raise ValidationFailed.field("from", "at or before 'to'", "from: after to")
    days = (from_rfc3339(lt) - from_rfc3339(gte)).days
    if days > limits.BALANCE_CHANGES_WINDOW_DAYS_MAX:
        raise ValidationFailed.field(
            "from", f"a window of at most {limits.BALANCE_CHANGES_WINDOW_DAYS_MAX} days"
        )
    return gte, lt


def _no_currency(partner: Partner, currency: str) -> NotFound:
    return NotFound(
        f"No {currency!r} balance: the partner's currencies are "
        f"{', '.join(c.currency for c in partner.currencies)}.",
        currency=currency,
        enabled=[c.currency for c in partner.currencies],
    )

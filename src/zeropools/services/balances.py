"""Balances as partners see them: available, reserved, pending, total, and the low flag."""

from __future__ import annotations

from collections.abc import Mapping

from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import NotFound
from zeropools.domain.partners import Partner, PartnerCurrency
from zeropools.domain.readmodels import BalanceView
from zeropools.services.context import Ctx, Deployment, scoped_partner
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


def get_balance(dep: Deployment, ctx: Ctx, partner_id: str | None, currency: str) -> BalanceView:
    partner, pending = _partner(dep, ctx, partner_id)
    pc = partner.currency(currency)
    if pc is None:
        raise NotFound(
            f"No {currency!r} balance: the partner's currencies are "
            f"{', '.join(c.currency for c in partner.currencies)}.",
            currency=currency,
            enabled=[c.currency for c in partner.currencies],
        )
    return _view(pc, pending, to_rfc3339(ctx.now))

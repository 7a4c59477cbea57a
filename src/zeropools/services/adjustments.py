"""Operator corrections: ``adjustment`` entries of either sign, always with a reason.

A negative adjustment is refused with ``insufficient_balance`` rather than overdraw
``available`` (invariant 2); the counter-side is the platform's ``platform:adjustments``
account, so the books still balance.
"""

from __future__ import annotations

from typing import cast

from zeropools.domain import ledger, limits
from zeropools.domain.errors import CurrencyNotEnabled, NotFound, ValidationFailed
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.partners import OPERATOR
from zeropools.services import dispatch
from zeropools.services.commands import Adjust
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.services.ledger import post
from zeropools.store.protocol import Tx


def adjust_in(
    dep: Deployment,
    ctx: Ctx,
    tx: Tx,
    *,
    partner_id: str,
    currency: str,
    amount: object,
    reason: str,
) -> LedgerEntry:
    require_role(ctx, OPERATOR)
    reason = reason.strip()
    if not reason or len(reason) > limits.REASON_CHARS_MAX:
        raise ValidationFailed(
            "reason: required",
            errors=[{"field": "reason", "message": f"1 to {limits.REASON_CHARS_MAX} characters"}],
        )
    amount_minor = dep.currencies.parse(amount, currency, allow_negative=True)
    partner = tx.get_partner(partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id!r}.")
    if partner.currency(currency) is None:
        raise CurrencyNotEnabled(
            f"{currency} is not enabled for {partner_id}.",
            currency=currency,
            enabled=[pc.currency for pc in partner.currencies],
        )
    posting = post(dep, ctx, tx, partner_id, [ledger.adjustment(currency, amount_minor, reason)])
    return posting.entries[0]


def adjust(
    dep: Deployment, ctx: Ctx, *, partner_id: str, currency: str, amount: object, reason: str
) -> LedgerEntry:
    """Post an adjustment without an idempotency key (services, tests, the CLI)."""
    command = Adjust(partner_id, currency, amount, reason)
    return cast(LedgerEntry, dispatch.apply(dep, ctx, command))

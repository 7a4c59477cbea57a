"""The operator's review of pay-ins: attribute one from suspense, return one, and flag a recall
the partner's balance could not cover.

Each action loads the pay-in, lets the domain decide the step (``domain.payins``: refusals keep
the API's codes and words) and writes the change inside the caller's transaction, which the API
runs with an idempotency key, so a replay answers exactly as the first request did.
"""

from __future__ import annotations

from collections.abc import Callable

from zeropools.domain import limits, payins
from zeropools.domain.errors import DomainError, InsufficientBalance, NotFound, ValidationFailed
from zeropools.domain.partners import OPERATOR
from zeropools.domain.payins import Payin
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.services.payin_changes import write, write_unposted
from zeropools.store.protocol import Tx


def _load(tx: Tx, payin_id: str) -> Payin:
    payin = tx.get_payin(payin_id)
    if payin is None:
        raise NotFound(f"No pay-in {payin_id!r}.")
    return payin


def attribute_in(dep: Deployment, ctx: Ctx, tx: Tx, payin_id: str, partner_id: str) -> Payin:
    """An operator attributes a pay-in from the review queue: suspense -> that partner."""
    actor = require_role(ctx, OPERATOR)
    payin = _load(tx, payin_id)
    # what the pay-in rules out is refused before the partner is even looked up
    payins.check_attributable(payin)
    partner = tx.get_partner(partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id!r}.")
    change = payins.attribute_by_operator(payin, partner, operator_key_id=actor.key_id, now=ctx.now)
    return write(dep, ctx, tx, change, stored=True)


def return_in(dep: Deployment, ctx: Ctx, tx: Tx, payin_id: str, reason: str) -> Payin:
    """Send a pay-in back: from review (out of suspense), or a bank recall of a credited one.

    A recall posts ``payin_reversal`` linked to the credit; if the partner already spent the
    money, ``append`` refuses it with ``insufficient_balance`` rather than overdraw, and the
    caller flags the pay-in for the operator (``flag_refused_recall``).
    """
    require_role(ctx, OPERATOR)
    payin = _load(tx, payin_id)
    change = payins.return_payin(payin, reason=reason, now=ctx.now)
    try:
        return write(dep, ctx, tx, change, stored=True)
    except InsufficientBalance as spent:
        # only a recall posts to the partner's ledger, so only a recall is refused this way
        assert payin.status == payins.CREDITED, payin
        raise payins.recall_not_covered(payin, spent) from None


def flag_refused_recall(ctx: Ctx, payin_id: str) -> Callable[[Tx, DomainError], None]:
    """After a refused return: note on the pay-in why, so the operator queue shows it."""

    def on_refusal(tx: Tx, error: DomainError) -> None:
        if not isinstance(error, InsufficientBalance):
            return  # only a recall of spent money needs the operator's eye
        payin = tx.get_payin(payin_id)
        if payin is None or payins.FLAG not in payins.TRANSITIONS[payin.status]:
            return
        change = payins.recall_refused(payin, detail=error.detail, now=ctx.now)
        write_unposted(ctx, tx, change, stored=True)

    return on_refusal


def check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed.field("reason", "required", "reason: required")
    return reason.strip()[: limits.REASON_CHARS_MAX]

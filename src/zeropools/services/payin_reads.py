"""Reading pay-ins: the operator's lists and queues, and a partner's own pay-ins."""

from __future__ import annotations

from zeropools.domain import payins
from zeropools.domain.errors import NotFound, ValidationFailed
from zeropools.domain.paging import Page
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN
from zeropools.domain.payins import Payin
from zeropools.services.context import Ctx, Deployment, require_partner, require_role
from zeropools.store.protocol import Tx


def list_payins(
    dep: Deployment,
    ctx: Ctx,
    partner_id: str | None,
    status: str | None,
    page: Page,
    flagged: bool | None = None,
) -> list[Payin]:
    """Newest first; a partner key sees only its own (another partner's id is a 404)."""
    actor = require_role(ctx, OPERATOR, PARTNER_ADMIN)
    if status is not None and status not in payins.STATUSES:
        raise ValidationFailed(
            "Unknown pay-in status.",
            errors=[{"field": "status", "message": f"one of {', '.join(payins.STATUSES)}"}],
        )
    if not actor.is_operator:
        if partner_id and partner_id != actor.partner_id:
            raise NotFound(f"No partner {partner_id!r}.")
        partner_id = actor.partner_id

    def work(tx: Tx) -> list[Payin]:
        require_partner(tx, partner_id)
        return tx.list_payins(partner_id, status, page, flagged)

    return dep.store.read(work)


def get_payin(dep: Deployment, ctx: Ctx, payin_id: str) -> Payin:
    """One pay-in; another partner's is a 404, exactly like an unknown id."""
    actor = require_role(ctx, OPERATOR, PARTNER_ADMIN)
    payin = dep.store.read(lambda tx: tx.get_payin(payin_id))
    if payin is None or (not actor.is_operator and payin.partner_id != actor.partner_id):
        raise NotFound(f"No pay-in {payin_id!r}.")
    return payin

"""Operator corrections of a partner's balance."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from zeropools.api import models, views
from zeropools.api.deps import Context, Dep
from zeropools.api.idempotent import IDEMPOTENCY, respond
from zeropools.api.schemas import AdjustmentCreate
from zeropools.services import adjustments

router = APIRouter(tags=["adjustments"])


@router.post(
    "/v1/adjustments",
    status_code=201,
    response_model=None,
    responses={201: {"model": models.LedgerEntry}, 400: IDEMPOTENCY},
)
def create_adjustment(body: AdjustmentCreate, request: Request, dep: Dep, ctx: Context) -> Response:
    """Post an ``adjustment`` entry (signed amount, with a reason); returns the ledger entry."""
    return respond(
        request,
        dep,
        ctx,
        body.model_dump(),
        lambda tx: adjustments.adjust_in(
            dep,
            ctx,
            tx,
            partner_id=body.partner_id,
            currency=body.currency,
            amount=body.amount,
            reason=body.reason,
        ),
        lambda entry: views.ledger_entry(entry, dep.currencies),
        status=201,
    )

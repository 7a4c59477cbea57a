"""Operator corrections of a partner's balance."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from zeropools.api.deps import Context, Dep
from zeropools.api.idempotent import IDEMPOTENCY, respond
from zeropools.api.schemas import AdjustmentCreate
from zeropools.representations import models
from zeropools.services.commands import Adjust

router = APIRouter(tags=["adjustments"])


@router.post(
    "/v1/adjustments",
    status_code=201,
    response_model=None,
    responses={201: {"model": models.LedgerEntry}, 400: IDEMPOTENCY},
)
def create_adjustment(body: AdjustmentCreate, request: Request, dep: Dep, ctx: Context) -> Response:
    """Post an ``adjustment`` entry (signed amount, with a reason); returns the ledger entry."""
    command = Adjust(body.partner_id, body.currency, body.amount, body.reason)
    return respond(request, dep, ctx, body.model_dump(), command)

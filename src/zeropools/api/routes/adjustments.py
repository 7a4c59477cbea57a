"""Operator corrections of a partner's balance."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from zeropools.api.deps import Context, Dep
from zeropools.api.idempotent import respond_async
from zeropools.api.openapi import problems
from zeropools.api.schemas import AdjustmentCreate
from zeropools.domain import errors as e
from zeropools.representations import models
from zeropools.services.commands import Adjust

router = APIRouter(tags=["adjustments"])


@router.post(
    "/v1/adjustments",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": models.LedgerEntry, "description": "The `adjustment` ledger entry"},
        **problems(
            e.NotFound,
            e.InsufficientBalance,
            e.AmountInvalid,
            e.AmountPrecisionExceeded,
            e.AmountOutOfRange,
            e.CurrencyNotEnabled,
            body=True,
            idempotent=True,
            laned=True,
        ),
    },
)
async def create_adjustment(
    body: AdjustmentCreate, request: Request, dep: Dep, ctx: Context
) -> Response:
    """Correct a partner's available balance by a signed amount, with a reason (operator).

    Posts one `adjustment` ledger entry and answers it. A negative adjustment that would take
    `available` below zero is refused with `insufficient_balance` (and stays refused under its
    Idempotency-Key)."""
    command = Adjust(body.partner_id, body.currency, body.amount, body.reason)
    return await respond_async(request, dep, ctx, body.model_dump(), command)

"""Pay-ins: bank credit notifications (operator) and their lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from zeropools.api.deps import Context, Dep, PageParams
from zeropools.api.idempotent import respond_async
from zeropools.api.openapi import problems
from zeropools.api.schemas import PayinAttribute, PayinCreate, PayinReturn
from zeropools.domain import errors as e
from zeropools.representations import models
from zeropools.representations import objects as views
from zeropools.representations.objects import JSON
from zeropools.services import imports, payins
from zeropools.services.commands import AttributePayin, ReturnPayin

router = APIRouter(tags=["payins"])


@router.post(
    "/v1/payins",
    status_code=201,
    response_model=models.Payin,
    responses={
        200: {"description": "Known pay-in (a resend)", "model": models.Payin},
        **problems(
            e.PayinConflict,
            e.AmountInvalid,
            e.AmountPrecisionExceeded,
            e.AmountOutOfRange,
            e.CurrencyNotEnabled,
            body=True,
            laned=True,
        ),
    },
)
def create_payin(body: PayinCreate, dep: Dep, ctx: Context, response: Response) -> JSON:
    """A bank credit notification (operator; on a test deployment a partner admin may simulate
    its own top-up). Booked and carrying a partner's funding reference, it credits that partner
    once; otherwise it waits (`pending_confirmation`) or goes to review (`needs_review`).
    Idempotent on `bank_transaction_id`: a resend answers 200 with the known pay-in."""
    note = payins.notification(dep, **body.model_dump())
    recorded = payins.record_payin(dep, ctx, note)
    if not recorded.created:
        response.status_code = 200
    return views.payin(recorded.payin, dep.currencies)


@router.post(
    "/v1/payins/import",
    response_model=models.PayinImport,
    responses=problems(e.PayloadTooLarge, laned=True),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/xml": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def import_statement(request: Request, dep: Dep, ctx: Context) -> JSON:
    """Import a bank statement (operator): a camt.053, camt.054 or MT940 file as the raw body,
    the format read from its content. Credits become pay-ins as `POST /v1/payins` would make
    them; importing the same file again changes nothing. Answers a summary of what happened."""
    data = await request.body()
    summary = await run_in_threadpool(imports.import_statement, dep, ctx, data)
    return {
        "id": f"pimp_{ctx.request_id.removeprefix('req_')}",
        "object": "payin_import",
        "format": summary.format,
        "entries": summary.entries,
        "credits": summary.credits,
        "credited": summary.credited,
        "needs_review": summary.needs_review,
        "pending_confirmation": summary.pending_confirmation,
        "duplicates": summary.duplicates,
        "ignored_debits": summary.ignored_debits,
        "conflicts": summary.conflicts,
        "request_id": ctx.request_id,
    }


@router.post(
    "/v1/payins/{payin_id}/attribute",
    response_model=None,
    responses={
        200: {"model": models.Payin, "description": "The credited pay-in"},
        **problems(
            e.NotFound,
            e.InvalidTransition,
            e.CurrencyNotEnabled,
            e.AmountPrecisionExceeded,
            body=True,
            idempotent=True,
            laned=True,
        ),
    },
)
async def attribute_payin(
    payin_id: str, body: PayinAttribute, request: Request, dep: Dep, ctx: Context
) -> Response:
    """Credit a pay-in waiting in review to the partner the operator names (operator)."""
    command = AttributePayin(payin_id, body.partner_id)
    return await respond_async(request, dep, ctx, body.model_dump(), command)


@router.post(
    "/v1/payins/{payin_id}/return",
    response_model=None,
    responses={
        200: {"model": models.Payin, "description": "The returned pay-in"},
        **problems(
            e.NotFound,
            e.InvalidTransition,
            e.InsufficientBalance,
            body=True,
            idempotent=True,
            laned=True,
        ),
    },
)
async def return_payin(
    payin_id: str, body: PayinReturn, request: Request, dep: Dep, ctx: Context
) -> Response:
    """Send a pay-in back (operator): from review, or a bank recall of a credited one, which
    posts a `payin_reversal` or is refused with `insufficient_balance` if the money is spent."""
    reason = payins.check_reason(body.reason)
    return await respond_async(request, dep, ctx, body.model_dump(), ReturnPayin(payin_id, reason))


@router.get(
    "/v1/payins",
    response_model=models.ListOf[models.Payin],
    responses=problems(e.NotFound),
)
def list_payins(
    dep: Dep,
    ctx: Context,
    page: PageParams,
    status: Annotated[str | None, Query()] = None,
    partner_id: Annotated[str | None, Query()] = None,
    flagged: Annotated[
        bool | None, Query(description="credited pay-ins waiting for the operator")
    ] = None,
) -> JSON:
    """Pay-ins, newest first (operator; a partner admin sees its own): filter by `status`
    (`needs_review` is the operator's queue), `partner_id` or `flagged`."""
    found = payins.list_payins(dep, ctx, partner_id, status, page, flagged)
    return views.page(found, page.size, lambda p: views.payin(p, dep.currencies))


@router.get("/v1/payins/{payin_id}", response_model=models.Payin, responses=problems(e.NotFound))
def get_payin(payin_id: str, dep: Dep, ctx: Context) -> JSON:
    """One pay-in: its status, how it was attributed and the ledger entry that credited it."""
    return views.payin(payins.get_payin(dep, ctx, payin_id), dep.currencies)

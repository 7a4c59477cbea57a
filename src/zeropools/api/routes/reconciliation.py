"""Reconciliation: a day's rows, acknowledging them, and matching the partner's order file."""

from __future__ import annotations

import tempfile
from typing import IO, Annotated, Literal, cast

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from zeropools.api.deps import Context, Dep, PageParams
from zeropools.api.idempotent import respond
from zeropools.api.openapi import problems
from zeropools.api.schemas import AcknowledgementCreate
from zeropools.domain import errors as e
from zeropools.domain import limits
from zeropools.domain.errors import PayloadTooLarge
from zeropools.representations import models
from zeropools.representations import objects as views
from zeropools.representations.encoding import json_bytes
from zeropools.representations.objects import JSON
from zeropools.services import dispatch, matching, reconciliation
from zeropools.services.commands import Acknowledge

router = APIRouter(tags=["reconciliation"])
MATCH_PATH = "/v1/reconciliation/match"
NDJSON = "application/x-ndjson"

DateQuery = Annotated[
    str | None, Query(max_length=10, description="a calendar day, 2026-11-23 (default: today)")
]
TzQuery = Annotated[
    str | None,
    Query(max_length=limits.ID_CHARS_MAX, description="IANA time zone of the day (default UTC)"),
]
PartnerQuery = Annotated[
    str | None, Query(max_length=limits.ID_CHARS_MAX, description="operators: whose rows")
]


@router.get(
    "/v1/reconciliation",
    response_model=models.ListOf[models.ReconciliationRow],
    responses=problems(e.NotFound),
)
def list_rows(
    dep: Dep,
    ctx: Context,
    page: PageParams,
    date: DateQuery = None,
    tz: TzQuery = None,
    state: Annotated[Literal["open", "reconciled"] | None, Query()] = None,
    pool_id: Annotated[str | None, Query(max_length=limits.ID_CHARS_MAX)] = None,
    partner_id: PartnerQuery = None,
) -> JSON:
    """One row per trade and per pay-in created that day (in ``tz``), newest first."""
    found = reconciliation.list_rows(
        dep,
        ctx,
        partner_id=partner_id,
        date=date,
        tz=tz,
        state=state,
        pool_id=pool_id,
        page=page,
    )
    return views.page(found, page.size, lambda row: views.reconciliation_row(row, dep.currencies))


@router.post(
    MATCH_PATH,
    response_model=None,
    responses={
        200: {
            "model": models.ReconciliationMatch,
            "content": {NDJSON: {"schema": {"type": "string"}}},
            "description": "The match; with Accept: application/x-ndjson one JSON object per "
            "line (results and bad rows in file order, the summary last)",
        },
        **problems(e.NotFound, body=True),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                NDJSON: {"schema": {"type": "string"}},
            },
        }
    },
)
async def match(
    request: Request,
    dep: Dep,
    ctx: Context,
    tolerance_s: Annotated[
        int, Query(ge=0, le=limits.MATCH_TOLERANCE_MAX_S, description="amount + time window")
    ] = limits.MATCH_TOLERANCE_DEFAULT_S,
    date: DateQuery = None,
    tz: TzQuery = None,
    partner_id: PartnerQuery = None,
) -> Response:
    """The partner's order file as the raw body (CSV with a header, or JSON lines), matched
    one to one against the ledger's trades; see docs/api-notes.md for the tiers."""
    spool = await _spool(request)
    try:
        run = await run_in_threadpool(
            lambda: matching.match_file(
                dep,
                ctx,
                partner_id=partner_id,
                file=spool,
                media_type=request.headers.get("content-type"),
                tolerance_s=tolerance_s,
                date=date,
                tz=tz,
            )
        )
    except BaseException:
        spool.close()
        raise
    wants_lines = NDJSON in request.headers.get("accept", "")
    render = views.match_ndjson if wants_lines else views.match_json
    return StreamingResponse(
        render(run.summary, run.items(), ctx.request_id),
        media_type=NDJSON if wants_lines else "application/json",
        background=BackgroundTask(spool.close),
    )


async def _spool(request: Request) -> IO[bytes]:
    """The body in a temporary file (in memory up to a point): the match reads it twice."""
    # closed by the caller (after the answer is streamed), so no ``with`` here
    spool = tempfile.SpooledTemporaryFile(max_size=limits.RECONCILIATION_SPOOL_MEMORY_BYTES)  # noqa: SIM115
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.RECONCILIATION_FILE_BYTES_MAX:
            spool.close()
            raise PayloadTooLarge(
                f"The file is larger than {limits.RECONCILIATION_FILE_BYTES_MAX} bytes; "
                "split it by day (?date=)."
            )
        spool.write(chunk)
    spool.seek(0)
    return cast(IO[bytes], spool)


@router.post(
    "/v1/reconciliation/{item_id}/acknowledge",
    response_model=None,
    responses={
        200: {"model": models.ReconciliationRow},
        **problems(e.NotFound, e.InvalidTransition, body=True, idempotent=True),
    },
)
def acknowledge(
    item_id: str, body: AcknowledgementCreate, request: Request, dep: Dep, ctx: Context
) -> Response:
    """A failed or returned trade, or a recalled pay-in, was seen: the row becomes
    ``reconciled``. An ``Idempotency-Key`` is honoured but not required: a repeat answers the
    first acknowledgement unchanged."""
    command = Acknowledge(item_id, body.note)
    if request.headers.get("idempotency-key") is not None:
        return respond(request, dep, ctx, body.model_dump(), command)
    result = dispatch.apply(dep, ctx, command)
    row = views.reconciliation_row(result.row, dep.currencies)
    return Response(json_bytes(row), media_type="application/json")

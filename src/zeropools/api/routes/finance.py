"""Finance close: the day's ledger export, period close, and the public signing keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from zeropools.api.deps import Context, Dep
from zeropools.api.openapi import problems
from zeropools.api.schemas import PeriodClose
from zeropools.domain import errors as e
from zeropools.domain.exports import MEDIA_TYPES
from zeropools.representations import models
from zeropools.representations import objects as views
from zeropools.representations.objects import JSON
from zeropools.services import dispatch, exports, periods, signing
from zeropools.services.commands import ClosePeriod
from zeropools.services.context import require_role

router = APIRouter(tags=["finance"])
PartnerQuery = Annotated[str | None, Query(description="operators: whose ledger")]
TzQuery = Annotated[str | None, Query(description="IANA time zone of the day; default UTC")]


@router.get(
    "/v1/exports/ledger",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/x-ndjson": {}}},
        **problems(e.NotFound, e.CurrencyNotEnabled),
    },
)
def export_ledger(
    dep: Dep,
    ctx: Context,
    date: Annotated[str, Query(description="YYYY-MM-DD")],
    currency: Annotated[str | None, Query()] = None,
    format: Annotated[str | None, Query(description="csv (default) or jsonl")] = None,
    tz: TzQuery = None,
    partner_id: PartnerQuery = None,
) -> StreamingResponse:
    """The day's entries between an opening and a closing row, streamed from one snapshot.

    ``X-Content-SHA256`` is known before the body: stored at close for a closed day, computed
    by a first pass otherwise. A roll-forward mismatch aborts the stream mid-body.
    """
    request = exports.export_request(
        dep, ctx, partner_id, date=date, currency=currency, fmt=format, tz=tz
    )
    export = exports.open_export(dep, request)
    return StreamingResponse(
        export.chunks,
        media_type=MEDIA_TYPES[request.fmt],
        headers={
            "X-Content-SHA256": export.sha256,
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "X-Period-Status": "closed" if export.closed else "open",
        },
        # the snapshot is released even when the client leaves before the stream starts
        background=BackgroundTask(export.close),
    )


@router.post(
    "/v1/periods/{date}/close",
    response_model=models.Period,
    responses=problems(
        e.NotFound,
        e.PeriodHasOpenItems,
        e.PeriodNotEnded,
        e.SigningKeyUnavailable,
        body=True,
        laned=True,
    ),
)
def close_period(
    date: str,
    dep: Dep,
    ctx: Context,
    body: PeriodClose | None = None,
    partner_id: PartnerQuery = None,
) -> JSON:
    """Close the day: refused while items are open, then while the day runs; idempotent."""
    command = ClosePeriod(date, body.tz if body else None, partner_id)
    closed: periods.Closed = dispatch.apply(dep, ctx, command)
    return views.period(closed.period, dep.currencies)


@router.get("/v1/periods/{date}", response_model=models.Period, responses=problems(e.NotFound))
def get_period(
    date: str, dep: Dep, ctx: Context, tz: TzQuery = None, partner_id: PartnerQuery = None
) -> JSON:
    """A day's period: `open`, or `closed` with its closing balances, signed checkpoints and
    the sha256 of its frozen exports."""
    return views.period(periods.get_period(dep, ctx, date, tz, partner_id), dep.currencies)


@router.get(
    "/v1/signing-keys", response_model=models.ListOf[models.SigningKey], responses=problems()
)
def list_signing_keys(dep: Dep, ctx: Context) -> JSON:
    """Every public key that ever signed a checkpoint; the current one has no ``retired_at``."""
    require_role(ctx, "operator", "partner_admin", "partner_server")
    found = signing.list_keys(dep)
    return views.page(found, len(found), views.signing_key)

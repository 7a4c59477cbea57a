"""Pay-ins: bank credit notifications (operator) and their lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from zeropools.api import views
from zeropools.api.deps import Context, Dep, PageParams
from zeropools.api.schemas import PayinCreate
from zeropools.api.views import JSON
from zeropools.services import payins

router = APIRouter(tags=["payins"])


@router.post("/v1/payins", status_code=201, responses={200: {"description": "Known pay-in"}})
def create_payin(body: PayinCreate, dep: Dep, ctx: Context, response: Response) -> JSON:
    note = payins.notification(dep, **body.model_dump())
    recorded = payins.record_payin(dep, ctx, note)
    if not recorded.created:
        response.status_code = 200
    return views.payin(recorded.payin, dep.currencies)


@router.get("/v1/payins")
def list_payins(
    dep: Dep,
    ctx: Context,
    page: PageParams,
    status: Annotated[str | None, Query()] = None,
    partner_id: Annotated[str | None, Query()] = None,
) -> JSON:
    found = payins.list_payins(dep, ctx, partner_id, status, page)
    return views.page(found, page.limit - 1, lambda p: views.payin(p, dep.currencies))


@router.get("/v1/payins/{payin_id}")
def get_payin(payin_id: str, dep: Dep, ctx: Context) -> JSON:
    return views.payin(payins.get_payin(dep, ctx, payin_id), dep.currencies)

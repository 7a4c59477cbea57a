"""Support packets: the whole story from any one of its ids."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from zeropools.api.deps import Context, Dep
from zeropools.api.openapi import problems
from zeropools.domain import errors as e
from zeropools.domain import limits
from zeropools.representations import models
from zeropools.representations import objects as views
from zeropools.representations.objects import JSON
from zeropools.services import support

router = APIRouter(tags=["support"])
IdQuery = Annotated[str | None, Query(max_length=limits.ID_CHARS_MAX)]
OrderQuery = Annotated[str | None, Query(max_length=limits.PARTNER_ORDER_ID_CHARS_MAX)]


@router.get(
    "/v1/support-packets", response_model=models.SupportPacket, responses=problems(e.NotFound)
)
def support_packet(
    dep: Dep,
    ctx: Context,
    trade_id: IdQuery = None,
    quote_id: IdQuery = None,
    ledger_entry_id: IdQuery = None,
    request_id: IdQuery = None,
    funding_reference: IdQuery = None,
    partner_order_id: OrderQuery = None,
    payin_id: IdQuery = None,
    partner_id: Annotated[
        str | None, Query(max_length=limits.ID_CHARS_MAX, description="operators: whose ids")
    ] = None,
) -> JSON:
    """Exactly one id; any id of one story gives the same packet."""
    packet = support.support_packet(
        dep,
        ctx,
        partner_id=partner_id,
        ids={
            "trade_id": trade_id,
            "quote_id": quote_id,
            "ledger_entry_id": ledger_entry_id,
            "request_id": request_id,
            "funding_reference": funding_reference,
            "partner_order_id": partner_order_id,
            "payin_id": payin_id,
        },
    )
    return views.support_packet(packet, dep.currencies)

"""Capabilities, pools, quotes and trades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from zeropools.api.deps import Context, Dep, PageParams
from zeropools.api.idempotent import IDEMPOTENCY, respond
from zeropools.api.schemas import QuoteCreate, TradeCreate, TradeReason, TradeRelease, TradeSettle
from zeropools.domain import trades
from zeropools.representations import models
from zeropools.representations import objects as views
from zeropools.representations.objects import JSON
from zeropools.services import trading
from zeropools.services.commands import ExecuteTrade, MoveTrade

router = APIRouter(tags=["trading"])


@router.get("/v1/capabilities", response_model=models.Capabilities)
def capabilities(dep: Dep, ctx: Context, partner_id: Annotated[str | None, Query()] = None) -> JSON:
    return views.capabilities(trading.capabilities(dep, ctx, partner_id), dep.currencies)


@router.get("/v1/pools", response_model=models.ListOf[models.Pool])
def list_pools(dep: Dep, ctx: Context) -> JSON:
    found = trading.list_pools(dep, ctx)
    return views.page(found, len(found), lambda p: views.pool(p, dep.currencies))


@router.post("/v1/quotes", status_code=201, response_model=models.Quote)
def create_quote(
    body: QuoteCreate,
    dep: Dep,
    ctx: Context,
    partner_id: Annotated[str | None, Query(description="operators: for whom")] = None,
) -> JSON:
    view = trading.create_quote(
        dep,
        ctx,
        pool_id=body.pool_id,
        source_amount=body.source_amount,
        partner_order_id=body.partner_order_id,
        partner_id=partner_id,
    )
    return views.quote(view, dep.currencies)


@router.get("/v1/quotes/{quote_id}", response_model=models.Quote)
def get_quote(quote_id: str, dep: Dep, ctx: Context) -> JSON:
    return views.quote(trading.get_quote(dep, ctx, quote_id), dep.currencies)


@router.post(
    "/v1/trades",
    status_code=201,
    response_model=None,
    responses={201: {"model": models.Trade}, 400: IDEMPOTENCY},
)
def create_trade(body: TradeCreate, request: Request, dep: Dep, ctx: Context) -> Response:
    command = ExecuteTrade(body.quote_id, body.partner_order_id, body.destination)
    return respond(request, dep, ctx, body.model_dump(), command)


@router.get("/v1/trades", response_model=models.ListOf[models.Trade])
def list_trades(
    dep: Dep,
    ctx: Context,
    page: PageParams,
    partner_id: Annotated[str | None, Query()] = None,
    partner_order_id: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
) -> JSON:
    found = trading.list_trades(
        dep,
        ctx,
        partner_id=partner_id,
        partner_order_id=partner_order_id,
        status=status,
        page=page,
    )
    return views.page(found, page.size, lambda t: views.trade(t, dep.currencies))


@router.get("/v1/trade-refusals", response_model=models.ListOf[models.TradeRefusal])
def list_refusals(
    dep: Dep,
    ctx: Context,
    page: PageParams,
    partner_id: Annotated[str | None, Query()] = None,
    partner_order_id: Annotated[str | None, Query()] = None,
) -> JSON:
    """Executions that were refused (insufficient balance, expired quote, ...), newest first."""
    found = trading.list_refusals(
        dep, ctx, partner_id=partner_id, partner_order_id=partner_order_id, page=page
    )
    return views.page(found, page.size, views.refusal)


@router.get("/v1/trades/{trade_id}", response_model=models.Trade)
def get_trade(trade_id: str, dep: Dep, ctx: Context) -> JSON:
    return views.trade(trading.get_trade(dep, ctx, trade_id), dep.currencies)


def _move(
    request: Request,
    dep: Dep,
    ctx: Context,
    trade_id: str,
    to_status: str,
    body: dict[str, object],
) -> Response:
    command = MoveTrade(
        trade_id,
        to_status,
        delivered_amount=body.get("delivered_amount"),
        tx_hash=body.get("tx_hash"),  # type: ignore[arg-type]
        reason=body.get("reason"),  # type: ignore[arg-type]
    )
    return respond(request, dep, ctx, body, command)


@router.post(
    "/v1/trades/{trade_id}/settle",
    response_model=None,
    responses={200: {"model": models.Trade}, 400: IDEMPOTENCY},
)
def settle_trade(
    trade_id: str,
    request: Request,
    dep: Dep,
    ctx: Context,
    body: Annotated[TradeSettle | None, Body()] = None,
) -> Response:
    data = (body or TradeSettle()).model_dump()
    return _move(request, dep, ctx, trade_id, trades.SETTLED, data)


@router.post(
    "/v1/trades/{trade_id}/release",
    response_model=None,
    responses={200: {"model": models.Trade}, 400: IDEMPOTENCY},
)
def release_trade(
    trade_id: str,
    request: Request,
    dep: Dep,
    ctx: Context,
    body: Annotated[TradeRelease | None, Body()] = None,
) -> Response:
    data = (body or TradeRelease()).model_dump()
    return _move(request, dep, ctx, trade_id, trades.RELEASED, data)


@router.post(
    "/v1/trades/{trade_id}/fail",
    response_model=None,
    responses={200: {"model": models.Trade}, 400: IDEMPOTENCY},
)
def fail_trade(
    trade_id: str, body: TradeReason, request: Request, dep: Dep, ctx: Context
) -> Response:
    return _move(request, dep, ctx, trade_id, trades.FAILED, body.model_dump())


@router.post(
    "/v1/trades/{trade_id}/return",
    response_model=None,
    responses={200: {"model": models.Trade}, 400: IDEMPOTENCY},
)
def return_trade(
    trade_id: str, body: TradeReason, request: Request, dep: Dep, ctx: Context
) -> Response:
    return _move(request, dep, ctx, trade_id, trades.RETURNED, body.model_dump())

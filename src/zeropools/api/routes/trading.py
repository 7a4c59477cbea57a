"""Capabilities, pools, quotes and trades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from zeropools.api.deps import Context, Dep, PageParams
from zeropools.api.idempotent import respond_async
from zeropools.api.openapi import problems
from zeropools.api.schemas import QuoteCreate, TradeCreate, TradeReason, TradeRelease, TradeSettle
from zeropools.domain import errors as e
from zeropools.domain import trades
from zeropools.representations import models
from zeropools.representations import objects as views
from zeropools.representations.encoding import json_bytes
from zeropools.representations.objects import JSON
from zeropools.services import trading
from zeropools.services.commands import ExecuteTrade, MoveTrade

router = APIRouter(tags=["trading"])
JSON_MEDIA = "application/json"


# what every lifecycle action can be refused with (the trade's own, and the idempotency door)
_MOVE_REFUSALS = problems(
    e.NotFound,
    e.InvalidTransition,
    e.AmountInvalid,
    e.AmountPrecisionExceeded,
    e.AmountOutOfRange,
    body=True,
    idempotent=True,
    laned=True,
)


@router.get("/v1/capabilities", response_model=models.Capabilities, responses=problems(e.NotFound))
def capabilities(dep: Dep, ctx: Context, partner_id: Annotated[str | None, Query()] = None) -> JSON:
    """What this partner can do now, for a UI deciding which buttons to show: its currencies,
    the funded ones, its pools, and `actions` (`execute` is false while no currency has
    available balance)."""
    return views.capabilities(trading.capabilities(dep, ctx, partner_id), dep.currencies)


@router.get("/v1/pools", response_model=models.ListOf[models.Pool], responses=problems())
def list_pools(dep: Dep, ctx: Context) -> JSON:
    """The liquidity pools (`EUR-USDT`, ...): source currency, target asset, amount range, fee
    and whether they are enabled."""
    found = trading.list_pools(dep, ctx)
    return views.page(found, len(found), lambda p: views.pool(p, dep.currencies))


@router.post(
    "/v1/quotes",
    status_code=201,
    response_model=models.Quote,
    responses=problems(
        e.NotFound,
        e.PoolDisabled,
        e.AmountInvalid,
        e.AmountPrecisionExceeded,
        e.AmountOutOfRange,
        e.CurrencyNotEnabled,
        body=True,
        laned=True,
    ),
)
async def create_quote(
    body: QuoteCreate,
    dep: Dep,
    ctx: Context,
    partner_id: Annotated[str | None, Query(description="operators: for whom")] = None,
) -> Response:
    """A firm quote: `source_amount` of the pool's currency buys `target_amount` of its asset
    at `rate` after `fee`, valid until `expires_at` (30 s). No money moves until it is
    executed with `POST /v1/trades`."""
    # hot path: a coroutine handing its transaction to the writer; the body is the view's
    # JSON as built (the same bytes a stored answer has), not re-validated by response_model
    view = await trading.create_quote_async(
        dep,
        ctx,
        pool_id=body.pool_id,
        source_amount=body.source_amount,
        partner_order_id=body.partner_order_id,
        partner_id=partner_id,
    )
    return Response(json_bytes(views.quote(view, dep.currencies)), 201, media_type=JSON_MEDIA)


@router.get("/v1/quotes/{quote_id}", response_model=models.Quote, responses=problems(e.NotFound))
def get_quote(quote_id: str, dep: Dep, ctx: Context) -> JSON:
    """One quote; `status` tells whether it is still `open`, `used` or `expired`."""
    return views.quote(trading.get_quote(dep, ctx, quote_id), dep.currencies)


@router.post(
    "/v1/trades",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": models.Trade, "description": "The trade, `debited` or `reserved`"},
        **problems(
            e.NotFound,
            e.InsufficientBalance,
            e.QuoteExpired,
            e.QuoteAlreadyUsed,
            e.OrderAlreadyExecuted,
            body=True,
            idempotent=True,
            laned=True,
        ),
    },
)
async def create_trade(body: TradeCreate, request: Request, dep: Dep, ctx: Context) -> Response:
    """Execute a quote: debits (debit model) or reserves (reserve model) `source_amount` of the
    partner's available balance, or refuses with `insufficient_balance`, `quote_expired` or
    `quote_already_used`. Send an Idempotency-Key and reuse it on every retry: a repeat answers
    the first response byte for byte, refusals included."""
    command = ExecuteTrade(body.quote_id, body.partner_order_id, body.destination)
    return await respond_async(request, dep, ctx, body.model_dump(), command)


@router.get(
    "/v1/trades", response_model=models.ListOf[models.Trade], responses=problems(e.NotFound)
)
def list_trades(
    dep: Dep,
    ctx: Context,
    page: PageParams,
    partner_id: Annotated[str | None, Query()] = None,
    partner_order_id: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
) -> JSON:
    """Trades, newest first; filter by `partner_order_id` (your own order id) or `status`."""
    found = trading.list_trades(
        dep,
        ctx,
        partner_id=partner_id,
        partner_order_id=partner_order_id,
        status=status,
        page=page,
    )
    return views.page(found, page.size, lambda t: views.trade(t, dep.currencies))


@router.get(
    "/v1/trade-refusals",
    response_model=models.ListOf[models.TradeRefusal],
    responses=problems(e.NotFound),
)
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


@router.get("/v1/trades/{trade_id}", response_model=models.Trade, responses=problems(e.NotFound))
def get_trade(trade_id: str, dep: Dep, ctx: Context) -> JSON:
    """One trade with its status and the ids of the ledger entries it posted."""
    return views.trade(trading.get_trade(dep, ctx, trade_id), dep.currencies)


async def _move(
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
    return await respond_async(request, dep, ctx, body, command)


@router.post(
    "/v1/trades/{trade_id}/settle",
    response_model=None,
    responses={200: {"model": models.Trade, "description": "The updated trade"}, **_MOVE_REFUSALS},
)
async def settle_trade(
    trade_id: str,
    request: Request,
    dep: Dep,
    ctx: Context,
    body: Annotated[TradeSettle | None, Body()] = None,
) -> Response:
    """Record the venue's delivery (operator): the trade becomes `settled`. `delivered_amount`
    defaults to the quoted target and must be within the deployment's tolerance of it (default
    1 %); the trade then shows `delivery_difference`."""
    data = (body or TradeSettle()).model_dump()
    return await _move(request, dep, ctx, trade_id, trades.SETTLED, data)


@router.post(
    "/v1/trades/{trade_id}/release",
    response_model=None,
    responses={200: {"model": models.Trade, "description": "The updated trade"}, **_MOVE_REFUSALS},
)
async def release_trade(
    trade_id: str,
    request: Request,
    dep: Dep,
    ctx: Context,
    body: Annotated[TradeRelease | None, Body()] = None,
) -> Response:
    """Cancel an open trade before settlement (the partner, or the operator): a debit is
    refunded (`buy_refund`), a reservation released (`trade_release`), with the `reason`."""
    data = (body or TradeRelease()).model_dump()
    return await _move(request, dep, ctx, trade_id, trades.RELEASED, data)


@router.post(
    "/v1/trades/{trade_id}/fail",
    response_model=None,
    responses={200: {"model": models.Trade, "description": "The updated trade"}, **_MOVE_REFUSALS},
)
async def fail_trade(
    trade_id: str, body: TradeReason, request: Request, dep: Dep, ctx: Context
) -> Response:
    """Record that the venue could not execute (operator): the money goes back to available
    (`buy_refund` or `trade_release`), the `reason` on the trade and on that entry."""
    return await _move(request, dep, ctx, trade_id, trades.FAILED, body.model_dump())


@router.post(
    "/v1/trades/{trade_id}/return",
    response_model=None,
    responses={200: {"model": models.Trade, "description": "The updated trade"}, **_MOVE_REFUSALS},
)
async def return_trade(
    trade_id: str, body: TradeReason, request: Request, dep: Dep, ctx: Context
) -> Response:
    """Record that the venue sent a settled trade's money back (operator): a `buy_return`
    entry with the `reason` gives it back to available."""
    return await _move(request, dep, ctx, trade_id, trades.RETURNED, body.model_dump())

"""A partner's pages: balances, ledger, trades, changes, finance, webhooks, reconciliation.

The partner is in the path, so an operator reads any partner's pages and a partner admin only
its own: the services scope every read to the signed-in key (another partner's id is the same
404 the API answers). Writes go through ``dispatch`` like the API's; a refusal comes back to the
page as its message.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from typing import IO, Any, cast

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from zeropools.domain import limits
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import DomainError, NotFound, PayloadTooLarge, ValidationFailed
from zeropools.domain.exports import MEDIA_TYPES
from zeropools.domain.ledger import ENTRY_TYPES, EntryFilter
from zeropools.domain.matching import MatchResult, RowError
from zeropools.domain.paging import Page
from zeropools.representations import objects as views
from zeropools.representations.objects import JSON
from zeropools.services import (
    balances,
    dispatch,
    exports,
    ledger,
    matching,
    partners,
    periods,
    reconciliation,
    support,
    trading,
    webhook_delivery,
    webhook_endpoints,
)
from zeropools.services.commands import Acknowledge, ClosePeriod
from zeropools.web import forms
from zeropools.web.chart import balance_chart
from zeropools.web.render import page
from zeropools.web.sessions import (
    PATH,
    DashboardRoute,
    Signed,
    back,
    flash,
    refused_message,
    signed_form,
    signed_in,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
BASE = f"{PATH}/partners/{{partner_id}}"
CHART_DAYS = 30
RECENT_ENTRIES = 10
# which navigation link a template belongs to (marked aria-current)
_CURRENT = {
    "partner_ledger.html": "/ledger",
    "partner_trades.html": "/trades",
    "partner_trade.html": "/trades",
    "partner_changes.html": "/changes",
    "partner_finance.html": "/finance",
    "partner_reconciliation.html": "/reconciliation",
    "partner_webhooks.html": "/webhooks",
}


def _view(request: Request, signed: Signed, name: str, partner_id: str, **context: Any) -> Response:
    partner = partners.get_partner(signed.dep, signed.ctx, partner_id)
    return page(
        name,
        signed=signed,
        partner=partner,
        base=f"{PATH}/partners/{partner.id}",
        flash=flash(request),
        current=_CURRENT.get(name, ""),
        **context,
    )


def _currency(signed: Signed, partner_id: str, chosen: str | None) -> tuple[list[str], str]:
    found = partners.get_partner(signed.dep, signed.ctx, partner_id)
    enabled = [pc.currency for pc in found.currencies]
    if chosen and chosen not in enabled:
        raise ValidationFailed.field("currency", f"one of {', '.join(enabled)}")
    return enabled, chosen or enabled[0]


@router.get(BASE)
def overview(request: Request, partner_id: str, currency: str | None = None) -> Response:
    signed = signed_in(request)
    dep, ctx = signed.dep, signed.ctx
    enabled, chosen = _currency(signed, partner_id, currency)
    cards = [views.balance(b, dep.currencies) for b in balances.list_balances(dep, ctx, partner_id)]
    instructions = partners.partner_funding_instructions(dep, ctx, partner_id)
    funding = [views.funding(f) for f in instructions]
    since = to_rfc3339(ctx.now - timedelta(days=CHART_DAYS))
    window = ledger.list_entries(
        dep,
        ctx,
        partner_id,
        EntryFilter(currency=chosen, created_gte=since),
        Page.of(limits.DASHBOARD_CHART_ENTRIES_MAX),
    )[: limits.DASHBOARD_CHART_ENTRIES_MAX]
    recent = [views.ledger_entry(e, dep.currencies) for e in window[-RECENT_ENTRIES:]][::-1]
    return _view(
        request,
        signed,
        "partner_overview.html",
        partner_id,
        cards=cards,
        funding=funding,
        chart=balance_chart(window, dep.currencies, chosen),
        chart_days=CHART_DAYS,
        currencies=enabled,
        currency=chosen,
        recent=recent,
    )


@router.get(f"{BASE}/ledger")
def ledger_page(
    request: Request,
    partner_id: str,
    currency: str | None = None,
    type: str | None = None,
    trade_id: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    after: str | None = None,
) -> Response:
    signed = signed_in(request)
    dep, ctx = signed.dep, signed.ctx
    where = EntryFilter(
        currency=currency or None,
        type=type or None,
        trade_id=trade_id or None,
        created_gte=forms.day_start("date_from", date_from),
        created_lt=forms.day_start("date_to", date_to, plus_days=1),  # the "to" day included
    )
    wanted = Page.of(limits.DASHBOARD_LEDGER_PAGE_ROWS, forms.cursor(after))
    found = ledger.list_entries(dep, ctx, partner_id, where, wanted)
    rows, has_more = wanted.split(found)
    filters = {
        "currency": currency or "",
        "type": type or "",
        "trade_id": trade_id or "",
        "date_from": date_from or "",
        "date_to": date_to or "",
    }
    return _view(
        request,
        signed,
        "partner_ledger.html",
        partner_id,
        rows=[views.ledger_entry(e, dep.currencies) for e in rows],
        next_after=rows[-1].id if has_more and rows else None,
        filters=filters,
        entry_types=sorted(ENTRY_TYPES),
        paged=bool(after),
    )


@router.get(f"{BASE}/trades")
def trades_page(
    request: Request, partner_id: str, status: str | None = None, after: str | None = None
) -> Response:
    signed = signed_in(request)
    dep, ctx = signed.dep, signed.ctx
    wanted = Page.of(limits.DASHBOARD_LEDGER_PAGE_ROWS, forms.cursor(after))
    found = trading.list_trades(
        dep, ctx, partner_id=partner_id, partner_order_id=None, status=status or None, page=wanted
    )
    rows, has_more = wanted.split(found)
    return _view(
        request,
        signed,
        "partner_trades.html",
        partner_id,
        rows=[views.trade(t, dep.currencies) for t in rows],
        next_after=rows[-1].trade.id if has_more and rows else None,
        status=status or "",
    )


@router.get(f"{BASE}/trades/{{trade_id}}")
def trade_page(request: Request, partner_id: str, trade_id: str) -> Response:
    signed = signed_in(request)
    dep, ctx = signed.dep, signed.ctx
    shown = trading.get_trade(dep, ctx, trade_id)
    if shown.trade.partner_id != partner_id:  # an operator following a mistyped link
        raise NotFound(f"No trade {trade_id!r} for this partner.")
    packet = support.support_packet(dep, ctx, partner_id=partner_id, ids={"trade_id": trade_id})
    return _view(
        request,
        signed,
        "partner_trade.html",
        partner_id,
        trade=views.trade(shown, dep.currencies),
        packet=views.support_packet(packet, dep.currencies),
    )


@router.get(f"{BASE}/changes")
def changes_page(
    request: Request,
    partner_id: str,
    currency: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> Response:
    signed = signed_in(request)
    dep, ctx = signed.dep, signed.ctx
    enabled, chosen = _currency(signed, partner_id, currency)
    view = balances.balance_changes(
        dep,
        ctx,
        partner_id=partner_id,
        currency=chosen,
        created_gte=forms.day_start("date_from", date_from),
        created_lt=forms.day_start("date_to", date_to, plus_days=1),
        page_size=limits.DASHBOARD_LEDGER_PAGE_ROWS,
    )
    return _view(
        request,
        signed,
        "partner_changes.html",
        partner_id,
        changes=views.balance_changes(view, dep.currencies),
        currencies=enabled,
        currency=chosen,
        date_from=date_from or "",
        date_to=date_to or "",
    )


def _today(signed: Signed) -> str:
    return signed.ctx.now.date().isoformat()


@router.get(f"{BASE}/finance")
def finance_page(
    request: Request, partner_id: str, date: str | None = None, currency: str | None = None
) -> Response:
    signed = signed_in(request)
    dep, ctx = signed.dep, signed.ctx
    enabled, chosen = _currency(signed, partner_id, currency)
    day = date or _today(signed)
    forms.day("date", day)
    period = periods.get_period(dep, ctx, day, None, partner_id)
    open_rows = reconciliation.list_rows(
        dep,
        ctx,
        partner_id=partner_id,
        date=day,
        tz=None,
        state="open",
        pool_id=None,
        page=Page.of(limits.DASHBOARD_LEDGER_PAGE_ROWS),
    )
    return _view(
        request,
        signed,
        "partner_finance.html",
        partner_id,
        period=views.period(period, dep.currencies),
        day=day,
        currencies=enabled,
        currency=chosen,
        open_items=len(open_rows),
    )


@router.get(f"{BASE}/export")
def export_download(
    request: Request,
    partner_id: str,
    date: str,
    currency: str | None = None,
    format: str | None = None,
) -> Response:
    """The same stream as ``GET /v1/exports/ledger``, with its sha256 and period status."""
    signed = signed_in(request)
    wanted = exports.export_request(
        signed.dep, signed.ctx, partner_id, date=date, currency=currency, fmt=format, tz=None
    )
    export = exports.open_export(signed.dep, wanted)
    return StreamingResponse(
        export.chunks,
        media_type=MEDIA_TYPES[wanted.fmt],
        headers={
            "X-Content-SHA256": export.sha256,
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "X-Period-Status": "closed" if export.closed else "open",
        },
        background=BackgroundTask(export.close),
    )


@router.post(f"{BASE}/finance/close")
async def close_day(request: Request, partner_id: str) -> Response:
    signed, form = await signed_form(request)
    day = forms.text(form, "date")
    forms.day("date", day)  # a 422 page here, before it goes into the redirect
    to = f"{PATH}/partners/{partner_id}/finance?date={day}"
    try:
        dispatch.apply(signed.dep, signed.ctx, ClosePeriod(day, None, partner_id))
    except DomainError as exc:
        return back(request, to, error=refused_message(exc))
    return back(request, to, notice=f"{day} is closed.")


@router.get(f"{BASE}/webhooks")
def webhooks_page(request: Request, partner_id: str, endpoint_id: str | None = None) -> Response:
    signed = signed_in(request)
    dep, ctx = signed.dep, signed.ctx
    endpoints = webhook_endpoints.list_endpoints(
        dep, ctx, partner_id=partner_id, page=Page.of(limits.PAGE_SIZE_DEFAULT)
    )
    deliveries: list[JSON] = []
    chosen = endpoint_id or (endpoints[0].id if endpoints else None)
    if chosen:
        deliveries = [
            views.webhook_delivery(d)
            for d in webhook_delivery.list_deliveries(
                dep, ctx, chosen, partner_id=partner_id, page=Page.of(limits.PAGE_SIZE_DEFAULT)
            )
        ]
    return _view(
        request,
        signed,
        "partner_webhooks.html",
        partner_id,
        endpoints=[views.webhook_endpoint(e) for e in endpoints],
        endpoint_id=chosen,
        deliveries=deliveries,
    )


@router.post(f"{BASE}/webhooks/redeliver")
async def redeliver(request: Request, partner_id: str) -> Response:
    signed, form = await signed_form(request)
    event_id = forms.text(form, "event_id")
    endpoint_id = forms.text(form, "endpoint_id")
    to = f"{PATH}/partners/{partner_id}/webhooks?endpoint_id={endpoint_id}"
    try:
        webhook_endpoints.get_endpoint(signed.dep, signed.ctx, endpoint_id, partner_id)
        webhook_delivery.redeliver(signed.dep, signed.ctx, event_id, endpoint_id)
    except DomainError as exc:
        return back(request, to, error=refused_message(exc))
    return back(request, to, notice=f"{event_id} queued for redelivery.")


def _recon_rows(signed: Signed, partner_id: str, day: str, state: str | None) -> list[JSON]:
    found = reconciliation.list_rows(
        signed.dep,
        signed.ctx,
        partner_id=partner_id,
        date=day,
        tz=None,
        state=state,
        pool_id=None,
        page=Page.of(limits.PAGE_SIZE_DEFAULT),
    )
    return [views.reconciliation_row(r, signed.dep.currencies) for r in found]


@router.get(f"{BASE}/reconciliation")
def reconciliation_page(
    request: Request, partner_id: str, date: str | None = None, state: str | None = None
) -> Response:
    signed = signed_in(request)
    day = date or _today(signed)
    forms.day("date", day)
    return _view(
        request,
        signed,
        "partner_reconciliation.html",
        partner_id,
        rows=_recon_rows(signed, partner_id, day, state or None),
        day=day,
        state=state or "",
        match=None,
    )


@router.post(f"{BASE}/reconciliation/acknowledge")
async def acknowledge(request: Request, partner_id: str) -> Response:
    signed, form = await signed_form(request)
    item_id = forms.text(form, "item_id")
    day = forms.text(form, "date")
    forms.day("date", day)
    to = f"{PATH}/partners/{partner_id}/reconciliation?date={day}"
    note = form.get("note")
    try:
        dispatch.apply(signed.dep, signed.ctx, Acknowledge(item_id, note))
    except DomainError as exc:
        return back(request, to, error=refused_message(exc))
    return back(request, to, notice=f"{item_id} acknowledged.")


@router.post(f"{BASE}/reconciliation/match")
async def match_upload(request: Request, partner_id: str) -> Response:
    signed, form = await signed_form(request)
    upload = form.get("orders")
    day = forms.text(form, "date", required=False) or _today(signed)
    forms.day("date", day)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed.field("orders", "required", "Choose your order file (CSV or JSONL).")
    spool = await _spool(upload)
    try:
        media_type = "application/x-ndjson" if _is_lines(upload) else "text/csv"
        run = matching.match_file(
            signed.dep,
            signed.ctx,
            partner_id=partner_id,
            file=spool,
            media_type=media_type,
            date=day,
        )
        summary = views.match_summary(run.summary, signed.ctx.request_id)
        results = [_match_item(item) for item in run.items()]
    finally:
        spool.close()
    return _view(
        request,
        signed,
        "partner_reconciliation.html",
        partner_id,
        rows=_recon_rows(signed, partner_id, day, None),
        day=day,
        state="",
        match={"summary": summary, "results": results, "filename": upload.filename},
    )


def _is_lines(upload: UploadFile) -> bool:
    name = (upload.filename or "").lower()
    return name.endswith((".jsonl", ".ndjson")) or "ndjson" in (upload.content_type or "")


def _match_item(item: MatchResult | RowError) -> JSON:
    return views.match_error(item) if isinstance(item, RowError) else views.match_result(item)


async def _spool(upload: UploadFile) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=limits.RECONCILIATION_SPOOL_MEMORY_BYTES)  # noqa: SIM115
    size = 0
    while chunk := await upload.read(65536):
        size += len(chunk)
        if size > limits.RECONCILIATION_FILE_BYTES_MAX:
            spool.close()
            raise PayloadTooLarge(
                f"The file is larger than {limits.RECONCILIATION_FILE_BYTES_MAX} bytes."
            )
        spool.write(chunk)
    spool.seek(0)
    return cast(IO[bytes], spool)

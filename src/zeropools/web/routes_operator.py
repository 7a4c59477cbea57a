"""The operator's pages: partners with balances, the pay-in review queue, statement import,
trades awaiting the venue, adjustments and ``verify``. A partner admin gets the API's 403."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from zeropools.domain import limits
from zeropools.domain.errors import DomainError, ValidationFailed
from zeropools.domain.paging import Page
from zeropools.domain.partners import OPERATOR
from zeropools.domain.trades import DEBITED, FAILED, RESERVED, SETTLED
from zeropools.representations import objects as views
from zeropools.representations.objects import JSON
from zeropools.services import balances, dispatch, imports, partners, payins, trading, verify
from zeropools.services.commands import Adjust, AttributePayin, MoveTrade, ReturnPayin
from zeropools.services.context import require_role
from zeropools.web import forms
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
BASE = f"{PATH}/operator"
PARTNERS_LISTED_MAX = 200  # the overview lists this many partners; more are paged by the API


def _operator(request: Request) -> Signed:
    signed = signed_in(request)
    require_role(signed.ctx, OPERATOR)  # 403 forbidden, as the API answers a partner key
    return signed


def _view(request: Request, signed: Signed, name: str, **context: Any) -> Response:
    current = name.removeprefix("operator_").removesuffix(".html")
    current = "" if current == "partners" else f"/{current}"
    return page(name, signed=signed, flash=flash(request), current=current, **context)


def _partner_rows(signed: Signed) -> list[JSON]:
    dep = signed.dep
    listed = balances.partner_balances(dep, signed.ctx, Page.of(PARTNERS_LISTED_MAX))
    return [
        {
            "partner": views.partner(partner, dep.currencies),
            "balances": [views.balance(b, dep.currencies) for b in found],
        }
        for partner, found in listed[:PARTNERS_LISTED_MAX]
    ]


@router.get(BASE)
def partners_page(request: Request) -> Response:
    signed = _operator(request)
    return _view(request, signed, "operator_partners.html", rows=_partner_rows(signed))


@router.get(f"{BASE}/payins")
def payins_page(request: Request) -> Response:
    signed = _operator(request)
    dep, ctx = signed.dep, signed.ctx
    queue = payins.list_payins(dep, ctx, None, "needs_review", Page.of(limits.PAGE_SIZE_DEFAULT))
    choices = partners.list_partners(dep, ctx, Page.of(PARTNERS_LISTED_MAX))
    return _view(
        request,
        signed,
        "operator_payins.html",
        queue=[views.payin(p, dep.currencies) for p in queue[: limits.PAGE_SIZE_DEFAULT]],
        partners=[{"id": p.id, "name": p.name} for p in choices[:PARTNERS_LISTED_MAX]],
        summary=None,
    )


@router.post(f"{BASE}/payins/{{payin_id}}/attribute")
async def attribute(request: Request, payin_id: str) -> Response:
    signed, form = await signed_form(request)
    to = f"{BASE}/payins"
    try:
        require_role(signed.ctx, OPERATOR)
        partner_id = forms.text(form, "partner_id")
        dispatch.apply(signed.dep, signed.ctx, AttributePayin(payin_id, partner_id))
    except DomainError as exc:
        return back(request, to, error=refused_message(exc))
    return back(request, to, notice=f"{payin_id} credited to {partner_id}.")


@router.post(f"{BASE}/payins/{{payin_id}}/return")
async def return_payin(request: Request, payin_id: str) -> Response:
    signed, form = await signed_form(request)
    to = f"{BASE}/payins"
    try:
        require_role(signed.ctx, OPERATOR)
        reason = payins.check_reason(forms.text(form, "reason"))
        dispatch.apply(signed.dep, signed.ctx, ReturnPayin(payin_id, reason))
    except DomainError as exc:
        return back(request, to, error=refused_message(exc))
    return back(request, to, notice=f"{payin_id} returned.")


@router.post(f"{BASE}/payins/import")
async def import_statement(request: Request) -> Response:
    signed, form = await signed_form(request)
    require_role(signed.ctx, OPERATOR)
    upload = form.get("statement")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed.field("statement", "required", "Choose a statement file.")
    data = await upload.read(limits.IMPORT_FILE_BYTES_MAX + 1)
    try:
        summary = await run_in_threadpool(imports.import_statement, signed.dep, signed.ctx, data)
    except DomainError as exc:
        return back(request, f"{BASE}/payins", error=refused_message(exc))
    dep, ctx = signed.dep, signed.ctx
    queue = payins.list_payins(dep, ctx, None, "needs_review", Page.of(limits.PAGE_SIZE_DEFAULT))
    choices = partners.list_partners(dep, ctx, Page.of(PARTNERS_LISTED_MAX))
    return _view(
        request,
        signed,
        "operator_payins.html",
        queue=[views.payin(p, dep.currencies) for p in queue[: limits.PAGE_SIZE_DEFAULT]],
        partners=[{"id": p.id, "name": p.name} for p in choices[:PARTNERS_LISTED_MAX]],
        summary={"filename": upload.filename, **vars(summary)},
    )


@router.get(f"{BASE}/trades")
def trades_page(request: Request) -> Response:
    signed = _operator(request)
    dep, ctx = signed.dep, signed.ctx
    waiting: list[JSON] = []
    for status in (DEBITED, RESERVED):  # what the venue has not reported yet
        found = trading.list_trades(
            dep,
            ctx,
            partner_id=None,
            partner_order_id=None,
            status=status,
            page=Page.of(limits.PAGE_SIZE_DEFAULT),
        )
        waiting += [views.trade(t, dep.currencies) for t in found[: limits.PAGE_SIZE_DEFAULT]]
    waiting.sort(key=lambda t: str(t["created_at"]))
    return _view(request, signed, "operator_trades.html", trades=waiting)


@router.post(f"{BASE}/trades/{{trade_id}}/{{outcome}}")
async def move_trade(request: Request, trade_id: str, outcome: str) -> Response:
    signed, form = await signed_form(request)
    to = f"{BASE}/trades"
    try:
        require_role(signed.ctx, OPERATOR)
        if outcome not in ("settle", "fail"):
            raise ValidationFailed.field("outcome", "settle or fail")
        status = SETTLED if outcome == "settle" else FAILED
        reason = forms.text(form, "reason") if status == FAILED else None
        dispatch.apply(signed.dep, signed.ctx, MoveTrade(trade_id, status, reason=reason))
    except DomainError as exc:
        return back(request, to, error=refused_message(exc))
    return back(request, to, notice=f"{trade_id} {status}.")


@router.get(f"{BASE}/adjustments")
def adjustments_page(request: Request) -> Response:
    signed = _operator(request)
    return _view(
        request,
        signed,
        "operator_adjustments.html",
        partners=[
            {"id": p.id, "name": p.name, "currencies": [c.currency for c in p.currencies]}
            for p in partners.list_partners(signed.dep, signed.ctx, Page.of(PARTNERS_LISTED_MAX))
        ][:PARTNERS_LISTED_MAX],
    )


@router.post(f"{BASE}/adjustments")
async def adjust(request: Request) -> Response:
    signed, form = await signed_form(request)
    to = f"{BASE}/adjustments"
    try:
        require_role(signed.ctx, OPERATOR)
        reason = forms.text(form, "reason")
        if len(reason) > limits.REASON_CHARS_MAX:
            raise ValidationFailed.field("reason", f"at most {limits.REASON_CHARS_MAX} characters")
        command = Adjust(
            forms.text(form, "partner_id"),
            forms.text(form, "currency").upper(),
            forms.text(form, "amount"),
            reason,
        )
        dispatch.apply(signed.dep, signed.ctx, command)
    except DomainError as exc:
        return back(request, to, error=refused_message(exc))
    return back(
        request, to, notice=f"Adjusted {command.partner_id} by {command.amount} {command.currency}."
    )


@router.get(f"{BASE}/verify")
def verify_page(request: Request) -> Response:
    signed = _operator(request)
    return _view(request, signed, "operator_verify.html", report=None)


@router.post(f"{BASE}/verify")
async def run_verify(request: Request) -> Response:
    signed, _ = await signed_form(request)
    require_role(signed.ctx, OPERATOR)
    # a replay of every ledger: run on request (a button), never on a page view
    report = await run_in_threadpool(verify.verify, signed.dep.store, None, checkpoints=True)
    return _view(request, signed, "operator_verify.html", report=report)

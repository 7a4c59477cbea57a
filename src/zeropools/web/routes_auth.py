"""Sign-in, sign-out and the landing redirect."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from zeropools.domain.clock import utc_now
from zeropools.domain.errors import DomainError
from zeropools.services import dashboard_sessions
from zeropools.web.render import page
from zeropools.web.sessions import (
    COOKIE,
    PATH,
    SIGN_IN,
    DashboardRoute,
    back,
    clear_session_cookie,
    deployment,
    flash,
    refused_message,
    set_session_cookie,
    signed_form,
    signed_in,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def home_of(partner_id: str | None) -> str:
    return f"{PATH}/operator" if partner_id is None else f"{PATH}/partners/{partner_id}"


@router.get(PATH)
def landing(request: Request) -> Response:
    signed = signed_in(request)
    return RedirectResponse(home_of(signed.actor.partner_id), status_code=303)


@router.get(SIGN_IN)
def sign_in_page(request: Request, ended: str | None = None) -> Response:
    message = "Your session has ended; sign in again." if ended else ""
    return page("sign_in.html", title="Sign in", info=message, flash=flash(request))


@router.post(SIGN_IN)
async def sign_in(request: Request) -> Response:
    # no session yet, so no CSRF token: SameSite=Strict and a key only its holder knows are
    # what stop another site from signing a browser in
    form = await request.form(max_files=0, max_fields=5)
    key = form.get("api_key")
    try:
        signed = dashboard_sessions.sign_in(
            deployment(request), key if isinstance(key, str) else "", utc_now()
        )
    except DomainError as exc:
        status = 403 if exc.code == "forbidden" else 401
        return page("sign_in.html", status, title="Sign in", error=refused_message(exc))
    response = RedirectResponse(home_of(signed.actor.partner_id), status_code=303)
    set_session_cookie(request, response, signed.token)
    return response


@router.post(f"{PATH}/sign-out")
async def sign_out(request: Request) -> Response:
    signed, _ = await signed_form(request)
    dashboard_sessions.sign_out(signed.dep, request.cookies.get(COOKIE), signed.ctx.now)
    response = back(request, SIGN_IN, notice="Signed out.")
    clear_session_cookie(response)
    return response

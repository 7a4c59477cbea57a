"""The session cookie, the CSRF check and the route class that turns failures into pages.

The cookie holds the session token (HttpOnly: no script reads it; SameSite=Strict: no other
site's page sends it; Secure whenever the request came over TLS). Every form carries the CSRF
token derived from it (``domain.sessions``); a POST without the right one is refused before any
service is called, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from zeropools.domain import limits
from zeropools.domain.clock import utc_now
from zeropools.domain.errors import DomainError, Unauthenticated
from zeropools.representations.problems import status_of
from zeropools.services import dashboard_sessions
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.web.render import page

COOKIE = "zp_session"
FLASH_COOKIE = "zp_flash"
PATH = "/dashboard"
SIGN_IN = f"{PATH}/sign-in"
FLASH_CHARS_MAX = 400  # a cookie holds ~4 KB; a message longer than this is cut


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page."""


class CsrfRefused(Exception):
    """A POST without its session's CSRF token: refused, nothing done."""


@dataclass(frozen=True)
class Signed:
    """The signed-in browser: its context for services, and the token its forms carry."""

    ctx: Ctx
    csrf: str
    dep: Deployment

    @property
    def actor(self) -> Actor:
        assert self.ctx.actor is not None
        return self.ctx.actor


def deployment(request: Request) -> Deployment:
    dep = request.app.state.deployment
    assert isinstance(dep, Deployment)
    return dep


def signed_in(request: Request) -> Signed:
    dep = deployment(request)
    token = request.cookies.get(COOKIE)
    now = utc_now()
    try:
        actor = dashboard_sessions.resolve(dep, token, now)
    except Unauthenticated as exc:
        raise SignInRequired(exc.detail) from exc
    assert token is not None
    ctx = Ctx(request_id=request.state.request_id, now=now, actor=actor)
    return Signed(ctx=ctx, csrf=dashboard_sessions.csrf_for(token), dep=dep)


async def signed_form(request: Request) -> tuple[Signed, dict[str, Any]]:
    """The session and the posted form, once its CSRF token is checked."""
    signed = signed_in(request)
    form = await request.form(max_files=1, max_fields=50)
    sent = form.get("csrf_token")
    sent = sent if isinstance(sent, str) else None
    if not dashboard_sessions.check_csrf(request.cookies.get(COOKIE), sent):
        raise CsrfRefused()
    return signed, dict(form)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=limits.DASHBOARD_SESSION_ABSOLUTE_S,
        path=PATH,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")


def back(request: Request, to: str, *, notice: str = "", error: str = "") -> RedirectResponse:
    """Post/redirect/get: a form's outcome is shown once on the page it returns to."""
    response = RedirectResponse(to, status_code=303)
    text = (("error:" + error) if error else ("notice:" + notice))[:FLASH_CHARS_MAX]
    response.set_cookie(
        FLASH_COOKIE,
        quote(text),
        path=PATH,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
    return response


def flash(request: Request) -> dict[str, str]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return {}
    kind, _, text = unquote(raw).partition(":")
    return {kind: text} if kind in ("notice", "error") else {}


def refused_message(exc: DomainError) -> str:
    return f"{exc.detail} ({exc.code})"


class DashboardRoute(APIRoute):
    """Every dashboard route answers HTML: a missing session is a redirect to sign in, a
    refused CSRF token a 403 page, a service's refusal a page with its message and status
    (the API's 401/403/404 stay the same statuses here), never a 500 or a JSON problem."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except SignInRequired as exc:
                target = SIGN_IN if not request.cookies.get(COOKIE) else f"{SIGN_IN}?ended=1"
                del exc
                return RedirectResponse(target, status_code=303)
            except CsrfRefused:
                return page(
                    "error.html",
                    403,
                    title="Form refused",
                    message="This form's security token is missing or out of date. Nothing "
                    "was changed. Go back, reload the page and try again.",
                )
            except RequestValidationError:
                return page(
                    "error.html", 400, title="Bad request", message="The request was malformed."
                )
            except DomainError as exc:
                return page(
                    "error.html",
                    status_of(exc),
                    title=exc.title,
                    message=refused_message(exc),
                )
            if request.method == "GET" and request.cookies.get(FLASH_COOKIE):
                response.delete_cookie(FLASH_COOKIE, path=PATH)
            return response

        return handler

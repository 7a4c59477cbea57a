"""The one map from errors to HTTP: RFC 9457 problem documents with stable codes."""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from zeropools.domain import errors as e
from zeropools.representations.problems import (
    PROBLEM_JSON,
    STATUS,
    domain_problem_body,
    problem_body,
    status_of,
)

__all__ = ["PROBLEM_JSON", "STATUS", "domain_problem_body", "install", "problem_body", "status_of"]


# What the /errors/{code} page says: what happened and what to do about it.
EXPLANATIONS: dict[str, str] = {
    "malformed_json": "The request body is not valid JSON. Send a JSON object.",
    "idempotency_key_required": "Money-moving POSTs need an Idempotency-Key header "
    "(1 to 255 printable characters). Reuse the key when you retry the same request.",
    "unauthenticated": "The Authorization header is missing, or the key is unknown, revoked "
    "or of the other mode (test/live). Send 'Authorization: Bearer zpk_...'.",
    "forbidden": "The key's role may not do this. Operators manage partners and pay-ins; "
    "partner keys read their own partner's resources.",
    "not_found": "No such object, or it belongs to another partner.",
    "insufficient_balance": "The partner's available balance does not cover the request. The "
    "body names the currency, the requested and available amounts and the shortfall.",
    "quote_expired": "The quote's expires_at has passed. Ask for a fresh quote.",
    "quote_already_used": "The quote was already executed. Ask for a fresh quote.",
    "order_already_executed": "This partner_order_id already has an open or settled trade "
    "(trade_id names it): executing it again would pay the order twice. Read that trade; only "
    "after it is released or failed may the order be retried, with a fresh quote.",
    "last_operator_key": "This is the only active operator key: revoking it would lock every "
    "operator out. Issue another one first (POST /v1/operator-keys), then revoke this one.",
    "invalid_transition": "The object's status does not allow this action; the body names "
    "from_status and to_status.",
    "idempotency_key_in_use": "A request with this Idempotency-Key is still being processed. "
    "Retry after it finishes to get its response.",
    "payin_conflict": "This bank_transaction_id is already known with another amount or "
    "currency. Nothing was changed.",
    "period_has_open_items": "The day has failed or returned trades or recalled pay-ins that "
    "are not acknowledged; 'items' lists them. Acknowledge each (POST "
    "/v1/reconciliation/{id}/acknowledge), then close again.",
    "period_not_ended": "The day has not ended yet in the period's time zone (tz). Close it "
    "once its last moment has passed.",
    "signing_key_unavailable": "The deployment has no signing key, so a period cannot be closed "
    "with a signed checkpoint. The operator sets ZEROPOOLS_SIGNING_KEY_FILE to a PEM file made "
    "by 'zeropools keys generate'.",
    "payload_too_large": "The request body is larger than this endpoint accepts.",
    "validation_error": "The request does not match the schema; 'errors' lists each field.",
    "amount_invalid": "Amounts are decimal strings of digits with an optional '.', such as "
    '"100.50": no JSON numbers, exponents, signs, commas or spaces.',
    "amount_precision_exceeded": "The amount has more decimals than the currency has.",
    "currency_not_enabled": "The currency is not enabled for this partner or deployment.",
    "pool_disabled": "The pool is disabled.",
    "amount_out_of_range": "The amount is outside the allowed range.",
    "idempotency_key_reused": "The Idempotency-Key was used before with a different request; "
    "'differences' names the fields.",
    "overloaded": "Too many requests are queued for this partner's balance; nothing was done. "
    "Wait for the Retry-After seconds and send the same request (same Idempotency-Key) again.",
    "internal_error": "Something failed on our side. Quote the request_id to support.",
    "method_not_allowed": "The path exists but not with this HTTP method.",
}


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "req_unknown"))


def problem(
    request: Request, status: int, code: str, title: str, detail: str, **extra: Any
) -> JSONResponse:
    body = problem_body(request_id_of(request), status, code, title, detail, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _allowed_methods(request: Request) -> list[str]:
    """Every method of every route on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    probe = {**request.scope, "method": "__none__"}
    pending = list(request.app.router.routes)
    while pending:
        route = pending.pop()
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        if inner is not None:  # an included router: look at its own routes
            pending.extend(inner)
            continue
        match, _ = route.matches(probe)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, e.DomainError)
        response = problem(request, status_of(exc), exc.code, exc.title, exc.detail, **exc.extra)
        if isinstance(exc, e.Unauthenticated):
            response.headers["WWW-Authenticate"] = 'Bearer realm="zeropools"'
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = exc.errors()
        if any(d.get("type") == "json_invalid" for d in details):
            return problem(
                request,
                400,
                "malformed_json",
                e.MalformedJson.title,
                "The request body is not valid JSON.",
            )
        if any(
            d.get("type") == "missing" and tuple(d.get("loc", ())) == ("body",) for d in details
        ):
            return problem(
                request,
                400,
                "malformed_json",
                e.MalformedJson.title,
                "The request body is empty; send a JSON object.",
            )
        fields = [
            {"field": _field(tuple(d.get("loc", ()))), "message": d.get("msg", "")} for d in details
        ]
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return problem(
            request, 422, "validation_error", e.ValidationFailed.title, summary, errors=fields
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return problem(request, 404, "not_found", e.NotFound.title, "No such path.")
        if exc.status_code == 405:
            response = problem(
                request,
                405,
                "method_not_allowed",
                "Method not allowed",
                f"{request.method} is not allowed on {request.url.path}.",
            )
            response.headers["Allow"] = ", ".join(_allowed_methods(request))  # RFC 9110
            return response
        return problem(request, exc.status_code, "http_error", "HTTP error", str(exc.detail))

    async def overloaded(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, e.Overloaded)
        response = problem(request, 503, exc.code, exc.title, exc.detail)
        response.headers["Retry-After"] = str(exc.retry_after_s)  # RFC 9110 delay-seconds
        return response

    app.add_exception_handler(e.DomainError, domain_error)
    app.add_exception_handler(e.Overloaded, overloaded)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)

    @app.get("/errors/{code}", include_in_schema=False, response_class=HTMLResponse)
    def error_page(code: str) -> HTMLResponse:
        text = EXPLANATIONS.get(code)
        if text is None:
            return HTMLResponse("<h1>Unknown error code</h1>", status_code=404)
        return HTMLResponse(
            f"<!doctype html><title>{html.escape(code)}</title><h1>{html.escape(code)}</h1>"
            f"<p>{html.escape(text)}</p>"
        )

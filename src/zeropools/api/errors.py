"""The one map from errors to HTTP: RFC 9457 problem documents with stable codes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from zeropools.api.error_pages import EXPLANATIONS, PAGES
from zeropools.domain import errors as e
from zeropools.representations.problems import (
    PROBLEM_JSON,
    STATUS,
    domain_problem_body,
    problem_body,
    status_of,
)

__all__ = [
    "EXPLANATIONS",
    "PAGES",
    "PROBLEM_JSON",
    "STATUS",
    "domain_problem_body",
    "install",
    "problem_body",
    "status_of",
]


# what FastAPI's request body reader raises when json.loads fails with anything but a
# JSONDecodeError (RecursionError, UnicodeDecodeError, ValueError for over-long integers)
_BODY_PARSE_FAILED = "There was an error parsing the body"


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
        if exc.status_code == 400:
            # FastAPI's "There was an error parsing the body": bytes that are not UTF-8 (API.md:
            # malformed_json), not a generic HTTP error
            return problem(
                request,
                400,
                "malformed_json",
                e.MalformedJson.title,
                "The request body is not valid UTF-8 JSON.",
            )
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
        if exc.status_code == 400 and exc.detail == _BODY_PARSE_FAILED:
            # FastAPI's own body reader gave up (nesting too deep for the parser, bytes that are
            # not UTF-8, an integer too long to convert): the body is not JSON we can read
            return problem(
                request,
                400,
                "malformed_json",
                e.MalformedJson.title,
                "The request body is not JSON this API can read: it must be UTF-8, nested at "
                "most a few hundred levels, with numbers of ordinary length.",
            )
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
        page = PAGES.get(code)
        if page is None:
            return HTMLResponse(
                "<!doctype html><title>Unknown error code</title><h1>Unknown error code</h1>",
                status_code=404,
            )
        return HTMLResponse(page.html(code))

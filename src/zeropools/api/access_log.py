"""Structured logs: one JSON line per request, and a JSON formatter for every other line.

An access line names the request id, the route *template* (``/v1/trades/{trade_id}``, never
the raw path or its query string: ids are fine, but a query value or a mistyped path could hold
a secret), the method, status, latency, client address and who called (key id, partner id,
role), never the ``Authorization`` header. uvicorn's own access log is off (it prints the raw
path with the query string); this one replaces it.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zeropools.domain import ids

ACCESS_LOGGER = "zeropools.access"
log = logging.getLogger(ACCESS_LOGGER)
_MS_PER_S = 1000


class AccessLogMiddleware:
    """Outermost: it times the whole request and sees every answer, the middleware's own
    refusals (413, 429, 408, 500) included. It also sets the request id the others use."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        state.setdefault("request_id", ids.new_id(ids.REQUEST))
        status = 0

        async def noting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info("request", extra={"fields": _fields(scope, state, status, started)})


def _fields(scope: Scope, state: dict[str, Any], status: int, started: float) -> dict[str, Any]:
    actor = state.get("actor")
    client = scope.get("client")
    return {
        "request_id": state["request_id"],
        "replayed_request_id": state.get("replayed_request_id"),
        "method": scope["method"],
        "route": state.get("route"),  # None: no route matched (a 404, or refused before)
        "status": status or None,  # None: the client went away before any answer
        "latency_ms": round((time.perf_counter() - started) * _MS_PER_S, 3),
        "partner_id": getattr(actor, "partner_id", None),
        "key_id": getattr(actor, "key_id", None),
        "role": getattr(actor, "role", None),
        "client": client[0] if client else None,
    }


class RouteRecorder:
    """Innermost: notes the matched route's template in ``scope["state"]`` for the access line.

    The router writes the matched route into the scope it is given, which is not always the
    dict the outer middleware holds (the request context copies the scope); ``state`` is the
    one dict they all share.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            if route is not None and "state" in scope:
                scope["state"]["route"] = getattr(route, "path", None)


def _timestamp(created: float) -> str:
    """RFC 3339 UTC with milliseconds, e.g. ``2026-12-01T19:44:23.860Z`` (cheaper than
    ``datetime.isoformat``: this runs once per request)."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ``fields`` passed in
    ``extra`` and, for errors, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(level: str = "INFO", *, access_log: bool = True) -> dict[str, Any]:
    """``logging.config.dictConfig`` for ``serve``: every logger (ours and uvicorn's) as JSON
    lines on stderr; uvicorn's access logger silenced (ours replaces it); ours off unless
    ``access_log`` (the middleware asks the logger first, so off costs nothing)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "zeropools": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            ACCESS_LOGGER: {"level": level if access_log else "WARNING"},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }

"""The FastAPI application, built from a ``Deployment`` (no globals, nothing at import).

``background`` is work that lives as long as the app (``zeropools serve`` passes the webhook
worker): started when the app starts, stopped when it stops. The API itself knows nothing of
what runs there, so building an app (tests, the OpenAPI document) starts nothing.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI

from zeropools import __version__
from zeropools.api import docs, errors, openapi
from zeropools.api.abuse import BodyTimeoutMiddleware, RateLimitMiddleware
from zeropools.api.access_log import AccessLogMiddleware, RouteRecorder
from zeropools.api.middleware import RequestContextMiddleware
from zeropools.api.routes import (
    adjustments,
    balances,
    events,
    finance,
    partners,
    payins,
    reconciliation,
    support,
    trading,
    webhooks,
)
from zeropools.domain import limits
from zeropools.domain.rate_limits import RateLimits
from zeropools.services.context import Deployment
from zeropools.web import app as dashboard


class Background(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def _without_telemetry() -> dict[str, Any]:
    """FastAPI's built-in OpenTelemetry hooks off: nothing here configures a provider, yet
    asking whether one is configured costs several environment lookups on every request
    (~9% of the event loop's time under load). Older FastAPI versions have no such hooks."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


def create_app(
    dep: Deployment,
    background: Sequence[Background] = (),
    *,
    rate_limits: RateLimits | None = None,
    body_timeout_s: float = limits.REQUEST_BODY_TIMEOUT_S,
) -> FastAPI:
    """``rate_limits``: none unless given (``serve`` passes the configured ones)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started: list[Background] = []
        try:
            for task in background:
                task.start()
                started.append(task)
            yield
        finally:
            for task in reversed(started):
                await asyncio.to_thread(task.stop)  # may wait for attempts in flight

    app = FastAPI(
        lifespan=lifespan,
        title="zeropools",
        version=__version__,
        description="Prefunded partner balances on an immutable, hash-chained ledger.",
        docs_url=None,  # served from the package by ``docs``, not from a CDN
        redoc_url=None,
        generate_unique_id_function=openapi.operation_id,
        **_without_telemetry(),
    )
    app.state.deployment = dep
    errors.install(app)
    # Starlette tries routes in order, each a regular expression: the hot path (quotes and
    # trades) first saves the scan of every other router on each execution (~7% of a
    # quote+trade's CPU). No two routers share a method and path, so the order decides nothing
    # else; tags, not this order, group the documentation.
    routers = [
        module.router
        for module in (
            trading,
            partners,
            payins,
            balances,
            adjustments,
            events,
            reconciliation,
            support,
            finance,
            webhooks,
        )
    ]
    openapi.install(app, routers)
    docs.install(app)
    for router in routers:
        app.include_router(router)
    dashboard.install(app)  # /dashboard: HTML pages over the same services

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "mode": dep.mode}

    # added innermost first: the last one added sees the request first
    app.add_middleware(RouteRecorder)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(BodyTimeoutMiddleware, timeout_s=body_timeout_s)
    if rate_limits is not None and rate_limits.any_on:
        app.add_middleware(RateLimitMiddleware, limits=rate_limits)
    app.add_middleware(AccessLogMiddleware)
    return app

"""The FastAPI application, built from a ``Deployment`` (no globals, nothing at import)."""

from __future__ import annotations

from fastapi import FastAPI

from zeropools import __version__
from zeropools.api import errors, openapi
from zeropools.api.middleware import RequestContextMiddleware
from zeropools.api.routes import (
    adjustments,
    balances,
    events,
    finance,
    partners,
    payins,
    trading,
)
from zeropools.services.context import Deployment


def create_app(dep: Deployment) -> FastAPI:
    app = FastAPI(
        title="zeropools",
        version=__version__,
        description="Prefunded partner balances on an immutable, hash-chained ledger.",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.deployment = dep
    errors.install(app)
    openapi.install(app)
    for module in (partners, payins, balances, trading, adjustments, events, finance):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "mode": dep.mode}

    app.add_middleware(RequestContextMiddleware)
    return app

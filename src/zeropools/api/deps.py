"""Per-request dependencies: the deployment, the authenticated context, page parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from zeropools.domain import limits
from zeropools.domain.clock import utc_now
from zeropools.domain.paging import Page
from zeropools.services.auth import authenticate, authenticate_cached
from zeropools.services.context import Ctx, Deployment

# The bearer scheme is documented, not run: ``openapi.install`` names it on every operation that
# depends on ``context``. As a dependency of its own (FastAPI's ``HTTPBearer``) it cost a
# dependency solve per request only to parse the header ``context`` reads anyway.
BEARER_SCHEME = "HTTPBearer"
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key: zpk_test_... or zpk_live_...",
}


def _deployment_of(request: Request) -> Deployment:
    dep = request.app.state.deployment
    assert isinstance(dep, Deployment)
    return dep


# Both are coroutines: a sync dependency costs a hop into the thread pool, and on the hot path
# neither does I/O (the key comes from the process's cache; a miss reads it in a thread).
async def deployment(request: Request) -> Deployment:
    return _deployment_of(request)


async def context(request: Request) -> Ctx:
    # no sub-dependencies: each one costs FastAPI a solve per request (~7% of a quote+trade's
    # CPU together with the bearer scheme's), and the deployment is one attribute away
    dep = _deployment_of(request)
    sent = request.headers.get("authorization") or None
    actor = authenticate_cached(dep, sent)
    if actor is None:
        actor = await run_in_threadpool(authenticate, dep, sent)
    request.state.actor = actor  # who called, for the access log line (never the secret)
    return Ctx(request_id=request.state.request_id, now=utc_now(), actor=actor)


def page(
    limit: Annotated[int, Query(ge=1, le=limits.PAGE_SIZE_MAX)] = limits.PAGE_SIZE_DEFAULT,
    starting_after: Annotated[str | None, Query(max_length=limits.ID_CHARS_MAX)] = None,
) -> Page:
    return Page.of(limit, starting_after)


Dep = Annotated[Deployment, Depends(deployment)]
Context = Annotated[Ctx, Depends(context)]
PageParams = Annotated[Page, Depends(page)]

"""Money-moving POSTs behind an ``Idempotency-Key`` (API.md "Idempotency")."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from zeropools.api.openapi import problems
from zeropools.representations.problems import PROBLEM_JSON
from zeropools.services import dispatch, idempotency
from zeropools.services.context import Ctx, Deployment

# Routes list their refusals with ``openapi.problems(..., idempotent=True)``, which declares
# these codes and the header; kept for a route still written ``responses={400: IDEMPOTENCY}``.
IDEMPOTENCY = problems(idempotent=True)[400]


def respond(
    request: Request, dep: Deployment, ctx: Ctx, body: dict[str, Any], command: Any
) -> Response:
    """Apply ``command`` once per key; ``body`` is what the request's fingerprint is made of."""
    key = idempotency.check_key(request.headers.get("idempotency-key"))
    stored = dispatch.apply_idempotent(
        dep, ctx, command, key=key, request_print=_print(request, body)
    )
    return _response(request, stored)


async def respond_async(
    request: Request, dep: Deployment, ctx: Ctx, body: dict[str, Any], command: Any
) -> Response:
    """``respond`` from a coroutine route: the transaction is handed to the store's writer."""
    key = idempotency.check_key(request.headers.get("idempotency-key"))
    stored = await dispatch.apply_idempotent_async(
        dep, ctx, command, key=key, request_print=_print(request, body)
    )
    return _response(request, stored)


def _print(request: Request, body: dict[str, Any]) -> str:
    return idempotency.fingerprint(request.method, request.url.path, body)


def _response(request: Request, stored: idempotency.StoredResponse) -> Response:
    media_type = PROBLEM_JSON if stored.status >= 400 else "application/json"
    response = Response(stored.body, status_code=stored.status, media_type=media_type)
    if stored.replayed:
        response.headers["Idempotent-Replayed"] = "true"
        request.state.replayed_request_id = stored.request_id
    return response

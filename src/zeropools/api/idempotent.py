"""Money-moving POSTs behind an ``Idempotency-Key`` (API.md "Idempotency")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request, Response

from zeropools.api.errors import PROBLEM_JSON, domain_problem_body
from zeropools.domain.errors import DomainError
from zeropools.services import idempotency
from zeropools.services.context import Ctx, Deployment
from zeropools.store.protocol import Tx

T = TypeVar("T")
IDEMPOTENCY = {
    "description": "Idempotency-Key header missing: 1 to 255 printable characters "
    "(idempotency_key_required)"
}


def _bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def respond(
    request: Request,
    dep: Deployment,
    ctx: Ctx,
    body: dict[str, Any],
    work: Callable[[Tx], T],
    render: Callable[[T], dict[str, Any]],
    *,
    status: int = 200,
    on_refusal: Callable[[Tx, DomainError], None] | None = None,
) -> Response:
    assert ctx.actor is not None
    key = idempotency.check_key(request.headers.get("idempotency-key"))
    stored = idempotency.run(
        dep,
        ctx,
        scope=ctx.actor.partner_id or "operator",
        key=key,
        request_print=idempotency.fingerprint(request.method, request.url.path, body),
        work=work,
        render=lambda result: (status, _bytes(render(result))),
        render_error=lambda exc: _error(exc, ctx.request_id),
        on_refusal=on_refusal,
    )
    media_type = PROBLEM_JSON if stored.status >= 400 else "application/json"
    response = Response(stored.body, status_code=stored.status, media_type=media_type)
    if stored.replayed:
        response.headers["Idempotent-Replayed"] = "true"
        request.state.replayed_request_id = stored.request_id
    return response


def _error(exc: DomainError, request_id: str) -> tuple[int, bytes]:
    status, body = domain_problem_body(exc, request_id)
    return status, _bytes(body)

"""The OpenAPI document: our problem shape, every refusal an operation can answer, clean ids.

Every operation answers errors as ``application/problem+json`` (RFC 9457); FastAPI would
otherwise document a ``{"detail": [...]}`` 422 that this service never sends. Each route names
the ``DomainError`` classes it can refuse with, and ``problems`` turns that one list into its
``responses``: per status, the stable codes (``x-problem-codes``), what each means and an
example body. The statuses come from ``representations.problems.STATUS``, the explanations from
``error_pages``, so nothing is written twice.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, APIRouter

from zeropools.api import deps
from zeropools.api.error_pages import PAGES
from zeropools.domain import errors as e
from zeropools.representations.models import Problem
from zeropools.representations.problems import PROBLEM_JSON, STATUS

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Repeat it to replay the first answer; scope (partner, key); never expires. "
    "A refusal of input validation (422 validation_error, amount_invalid, ...) is not stored: "
    "the corrected request may reuse the key.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[!-~]+$",
        "examples": ["6f1c2f9e-2d7b-4a51-9a0e-0d6f3f0c7b11"],
    },
}
# the codes a request can get before any route runs, or from the idempotency door
_AUTHENTICATED = (e.Unauthenticated, e.Forbidden)
_BODY = (e.MalformedJson, e.PayloadTooLarge)
_IDEMPOTENT = (
    e.IdempotencyKeyRequired,
    e.IdempotencyKeyInvalid,
    e.IdempotencyKeyReused,
    e.IdempotencyKeyInUse,
)
_OVERLOADED_STATUS = 503
_RATE_LIMITED_STATUS = 429
_REQUEST_TIMEOUT_STATUS = 408
TAGS = [
    {"name": "partners", "description": "Operator: onboard partners, issue and revoke API keys."},
    {
        "name": "payins",
        "description": "Bank credits: notifications and statement files (operator), the review "
        "queue, attribution and returns.",
    },
    {
        "name": "balances",
        "description": "What a partner can use, how to fund it, and the hash-chained ledger "
        "that explains every change.",
    },
    {
        "name": "trading",
        "description": "Pools, firm quotes, executions with an Idempotency-Key, and the trade "
        "lifecycle (settle, release, fail, return).",
    },
    {"name": "adjustments", "description": "Operator corrections of a balance, with a reason."},
]


def _link(operation_id: str, description: str, **where: Any) -> dict[str, Any]:
    return {"operationId": operation_id, "description": description, **where}


def _from_id(name: str) -> dict[str, str]:
    return {name: "$response.body#/id"}


# OpenAPI links: what an answer's ids lead to (generated clients and schemathesis's stateful
# fuzzing follow them, so created objects are read, moved and revoked in sequence).
_TRADE_LINKS = {
    "GetTrade": _link("get_trade", "The trade", parameters=_from_id("trade_id")),
    "SettleTrade": _link("settle_trade", "The venue delivered", parameters=_from_id("trade_id")),
    "ReleaseTrade": _link("release_trade", "Cancel it", parameters=_from_id("trade_id")),
    "FailTrade": _link("fail_trade", "The venue failed", parameters=_from_id("trade_id")),
    "ReturnTrade": _link("return_trade", "Returned", parameters=_from_id("trade_id")),
    "TradeEntries": _link(
        "list_ledger_entries", "Its ledger entries", parameters=_from_id("query.trade_id")
    ),
    "TradeStory": _link(
        "support_packet", "Its support packet", parameters=_from_id("query.trade_id")
    ),
}
LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("post", "/v1/quotes", "201"): {
        "GetQuote": _link("get_quote", "The quote", parameters=_from_id("quote_id")),
        "ExecuteQuote": _link(
            "create_trade", "Execute it", requestBody={"quote_id": "$response.body#/id"}
        ),
    },
    ("post", "/v1/trades", "201"): _TRADE_LINKS,
    ("post", "/v1/trades/{trade_id}/settle", "200"): {"ReturnTrade": _TRADE_LINKS["ReturnTrade"]},
    ("get", "/v1/trades/{trade_id}", "200"): {
        "GetQuote": _link(
            "get_quote", "The trade's quote", parameters={"quote_id": "$response.body#/quote_id"}
        )
    },
    ("post", "/v1/partners", "201"): {
        "GetPartner": _link("get_partner", "The partner", parameters=_from_id("partner_id")),
        "IssueKey": _link("create_api_key", "Another key", parameters=_from_id("partner_id")),
        "ListKeys": _link("list_api_keys", "Its keys", parameters=_from_id("partner_id")),
    },
    ("post", "/v1/partners/{partner_id}/api-keys", "201"): {
        "RevokeKey": _link("revoke_api_key", "Revoke it", parameters=_from_id("key_id"))
    },
    ("post", "/v1/payins", "201"): {
        "GetPayin": _link("get_payin", "The pay-in", parameters=_from_id("payin_id")),
        "AttributePayin": _link("attribute_payin", "Attribute it", parameters=_from_id("payin_id")),
        "ReturnPayin": _link("return_payin", "Return it", parameters=_from_id("payin_id")),
    },
    ("post", "/v1/adjustments", "201"): {
        "GetEntry": _link("get_ledger_entry", "The entry", parameters=_from_id("entry_id"))
    },
    ("post", "/v1/webhook-endpoints", "201"): {
        "GetEndpoint": _link("get_endpoint", "The endpoint", parameters=_from_id("endpoint_id")),
        "RotateSecret": _link("rotate_secret", "Rotate", parameters=_from_id("endpoint_id")),
        "Deliveries": _link("list_deliveries", "Its log", parameters=_from_id("endpoint_id")),
        "DeleteEndpoint": _link("delete_endpoint", "Delete", parameters=_from_id("endpoint_id")),
    },
}


def problems(
    *refusals: type[e.DomainError],
    idempotent: bool = False,
    body: bool = False,
    laned: bool = False,
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may refuse with ``refusals``.

    Every authenticated operation can also answer 401 ``unauthenticated``, 403 ``forbidden``
    and 422 ``validation_error`` (its query, path or body fields), and 429 ``rate_limited``;
    ``body`` adds the body's 400 ``malformed_json``, 413 ``payload_too_large`` and 408
    ``request_timeout``; ``idempotent`` the Idempotency-Key
    codes (and so the header parameter); ``laned`` the 503 ``overloaded`` of a partner's write
    queue.
    """
    classes: list[type[e.DomainError]] = [*_AUTHENTICATED, e.ValidationFailed, *refusals]
    if body:
        classes += _BODY
    if idempotent:
        classes += _IDEMPOTENT
    codes: dict[int, dict[str, str]] = {}
    for cls in classes:
        codes.setdefault(STATUS[cls], {})[cls.code] = cls.title
    if laned:
        codes[_OVERLOADED_STATUS] = {e.Overloaded.code: e.Overloaded.title}
    # answered at the door (api.abuse) by a server with limits, before the route runs
    codes[_RATE_LIMITED_STATUS] = {"rate_limited": "Too many requests"}
    if body:
        codes[_REQUEST_TIMEOUT_STATUS] = {"request_timeout": "Request timeout"}
    return {status: _response(status, named) for status, named in sorted(codes.items())}


def _response(status: int, named: dict[str, str]) -> dict[str, Any]:
    lines = "\n".join(f"- `{code}`: {PAGES[code].what}" for code in sorted(named))
    examples = {
        code: {
            "summary": title,
            "value": {
                "type": f"/errors/{code}",
                "title": title,
                "status": status,
                "detail": PAGES[code].what,
                "code": code,
                "request_id": "req_01JD6ZC9QKX5T6V4W3Y2A1B0C9",
            },
        }
        for code, title in sorted(named.items())
    }
    return {
        "description": f"Refused (RFC 9457 problem document); `code` is one of:\n\n{lines}",
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF, "examples": examples}},
        "x-problem-codes": sorted(named),
    }


def operation_id(route: APIRoute) -> str:
    """The route function's name: ``create_trade``, not ``create_trade_v1_trades_post``, so
    generated clients get readable method names."""
    return route.name


def _depends_on_context(dependant: Dependant) -> bool:
    return any(
        sub.call is deps.context or _depends_on_context(sub) for sub in dependant.dependencies
    )


def _document_bearer(routers: Sequence[APIRouter], document: dict[str, Any]) -> None:
    """The bearer scheme on every operation that authenticates its caller (``deps.context``
    reads the header itself, so FastAPI does not see a security dependency to document)."""
    paths = document.get("paths", {})
    secured = [
        operation
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and _depends_on_context(route.dependant)
        for method in route.methods or ()
        if (operation := paths.get(route.path_format, {}).get(method.lower())) is not None
    ]
    for operation in secured:
        operation["security"] = [{deps.BEARER_SCHEME: []}]
    if secured:
        schemes = document["components"].setdefault("securitySchemes", {})
        schemes[deps.BEARER_SCHEME] = dict(deps.BEARER)


def install(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """``routers``: those the app includes, whose operations the document describes."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=TAGS,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schemas["Problem"].pop("$defs", {}))
        for schema_name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(schema_name, None)
        _document_bearer(routers, document)
        problem = {
            "description": "Error (RFC 9457 problem document): 405 method_not_allowed, "
            "500 internal_error",
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
        }
        for path in document.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                if "idempotency_key_required" in responses.get("400", {}).get(
                    "x-problem-codes", ()
                ):
                    operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY)
                for status, answer in list(responses.items()):
                    if "HTTPValidationError" in str(answer.get("content", "")):
                        # FastAPI's own 422 for routes that list none: our problem instead
                        responses[status] = _response(
                            422, {"validation_error": e.ValidationFailed.title}
                        )
                    elif status.startswith(("4", "5")) and "content" not in answer:
                        responses[status] = {**problem, "description": answer["description"]}
                responses.setdefault("default", problem)
        for (method, path, status), links in LINKS.items():
            # a copy per document: whoever mutates a rendered document (schemathesis adds the
            # links it infers) must not change the next app's
            document["paths"][path][method]["responses"][status]["links"] = copy.deepcopy(links)
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]

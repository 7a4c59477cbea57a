"""The OpenAPI document, with our error shape instead of FastAPI's default 422 body.

Every operation answers errors as ``application/problem+json`` (RFC 9457); FastAPI would
otherwise document a ``{"detail": [...]}`` 422 that this service never sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from zeropools.representations.models import Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Repeat it to replay the first answer; scope (partner, key); never expires.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def install(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schemas["Problem"].pop("$defs", {}))
        for schema_name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(schema_name, None)
        problem = {
            "description": "Error (RFC 9457 problem document)",
            "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
        }
        for path in document.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                if "idempotency_key_required" in responses.get("400", {}).get("description", ""):
                    operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY)
                if "422" in responses:
                    responses["422"] = problem
                for status, answer in list(responses.items()):
                    if status.startswith(("4", "5")) and "content" not in answer:
                        responses[status] = {**problem, "description": answer["description"]}
                responses.setdefault("default", problem)
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]

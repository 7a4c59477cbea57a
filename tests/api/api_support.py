"""Helpers shared by the HTTP tests: problem-document checks, auth headers, partner keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = ("type", "title", "status", "detail", "code", "request_id")


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_request_id(response: httpx.Response) -> str:
    """Every response carries ``X-Request-Id: req_...``; return it."""
    request_id = response.headers.get("x-request-id", "")
    assert request_id.startswith("req_"), response.headers
    return request_id


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem document with ``status`` and ``code``; returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    for name in PROBLEM_FIELDS:
        assert name in body, (name, body)
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"/errors/{code}"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["request_id"] == assert_request_id(response)
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    return {item["field"] for item in body["errors"]}


@dataclass(frozen=True)
class PartnerKeys:
    id: str
    admin: str
    server: str
    admin_key_id: str
    server_key_id: str
    reference: str  # the EUR funding reference
    body: dict[str, Any]  # the 201 response of POST /v1/partners

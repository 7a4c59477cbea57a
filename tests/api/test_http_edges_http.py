"""The HTTP edges every route shares: request ids, body limits, parsing, unknown routes, docs.

Goal: whatever goes wrong before a route runs still answers an RFC 9457 problem document with
a stable code and the request id (malformed JSON 400, a body over 1 MiB 413 whether or not it
declares its length, unknown path 404, wrong method 405); every response carries
``X-Request-Id``; the OpenAPI document lists every route; every ``DomainError`` has an HTTP status
and an explanation page.

Method: TestClient over ``create_app(dep)`` on SQLite and PostgreSQL. The streamed body is a
generator, so httpx sends it chunked, without ``Content-Length``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from support import assert_problem, assert_request_id, bearer
from zeropools.api import errors as api_errors
from zeropools.domain import errors as domain_errors
from zeropools.domain import limits

ROUTES = {
    "/v1/partners": {"get", "post"},
    "/v1/partners/{partner_id}": {"get"},
    "/v1/partners/{partner_id}/api-keys": {"post"},
    "/v1/api-keys/{key_id}": {"delete"},
    "/v1/payins": {"get", "post"},
    "/v1/payins/{payin_id}": {"get"},
    "/v1/funding-instructions": {"get"},
    "/v1/balances": {"get"},
    "/v1/balances/{currency}": {"get"},
    "/v1/ledger-entries": {"get"},
    "/v1/ledger-entries/{entry_id}": {"get"},
}
PARTNER = {"name": "Acme", "balance_model": "debit", "currencies": ["EUR"]}


def oversized_json() -> bytes:
    padding = "x" * (limits.REQUEST_BODY_BYTES_MAX + 1)
    return json.dumps({**PARTNER, "name": padding}).encode()


def test_every_response_carries_its_own_request_id(
    client: TestClient, operator: dict[str, str]
) -> None:
    seen = set()
    for response in (
        client.get("/healthz"),
        client.get("/v1/partners", headers=operator),
        client.get("/v1/partners"),
        client.post("/v1/partners", json=PARTNER, headers=operator),
        client.get("/openapi.json"),
    ):
        seen.add(assert_request_id(response))
    assert len(seen) == 5
    # a request id the caller sends is not echoed as ours
    spoofed = client.get("/healthz", headers={"X-Request-Id": "req_mine"})
    assert assert_request_id(spoofed) != "req_mine"


def test_a_body_that_is_not_json_is_refused_as_malformed_json(
    client: TestClient, operator: dict[str, str]
) -> None:
    headers = {**operator, "Content-Type": "application/json"}
    for content in (b"{not json", b'{"name": "Acme",}', b"\xff\xfe"):
        response = client.post("/v1/partners", content=content, headers=headers)
        assert_problem(response, 400, "malformed_json")
    response = client.post("/v1/payins", content=b"[1, 2", headers=headers)
    assert_problem(response, 400, "malformed_json")


def test_a_body_over_one_mebibyte_is_refused_with_payload_too_large(
    client: TestClient, operator: dict[str, str]
) -> None:
    declared = client.post(
        "/v1/partners",
        content=oversized_json(),
        headers={**operator, "Content-Type": "application/json"},
    )
    body = assert_problem(declared, 413, "payload_too_large")
    assert str(limits.REQUEST_BODY_BYTES_MAX) in body["detail"]
    assert client.get("/v1/partners", headers=operator).json()["data"] == []


def test_a_streamed_body_over_one_mebibyte_is_refused_with_payload_too_large(
    client: TestClient, operator: dict[str, str]
) -> None:
    payload = oversized_json()

    def chunks() -> Iterator[bytes]:
        step = 64 * 1024
        for start in range(0, len(payload), step):
            yield payload[start : start + step]

    response = client.post(
        "/v1/partners",
        content=chunks(),
        headers={**operator, "Content-Type": "application/json"},
    )

    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_problem(response, 413, "payload_too_large")
    assert client.get("/v1/partners", headers=operator).json()["data"] == []


def test_a_body_just_under_the_limit_reaches_the_route(
    client: TestClient, operator: dict[str, str]
) -> None:
    # the limit is on bytes, not on what the route thinks of them: a 422, not a 413
    name = "x" * (limits.REQUEST_BODY_BYTES_MAX - 200)
    response = client.post("/v1/partners", json={**PARTNER, "name": name}, headers=operator)
    assert_problem(response, 422, "validation_error")


def test_unknown_paths_and_wrong_methods_answer_problem_documents(
    client: TestClient, operator: dict[str, str]
) -> None:
    for path in ("/v1/nothing-here", "/v2/partners", "/v1"):  # "/" leads to the docs
        assert_problem(client.get(path, headers=operator), 404, "not_found")
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")

    wrong = client.put("/v1/partners", json=PARTNER, headers=operator)
    body = assert_problem(wrong, 405, "method_not_allowed")
    assert "PUT" in body["detail"]
    assert_problem(client.delete("/v1/balances", headers=operator), 405, "method_not_allowed")
    assert_problem(client.patch("/v1/payins"), 405, "method_not_allowed")


def test_the_openapi_document_lists_every_route(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    paths: dict[str, Any] = response.json()["paths"]
    for path, methods in ROUTES.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    amount = response.json()["components"]["schemas"]["PayinCreate"]["properties"]["amount"]
    assert amount["type"] == "string"


def test_an_error_type_path_serves_a_page_that_explains_the_error(client: TestClient) -> None:
    response = client.get("/errors/insufficient_balance")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "insufficient_balance" in response.text
    assert html.escape(api_errors.EXPLANATIONS["insufficient_balance"]) in response.text
    assert client.get("/errors/no_such_code").status_code == 404


def test_every_domain_error_has_an_http_status_and_an_explanation() -> None:
    classes = domain_errors.all_error_classes()
    assert len(classes) >= 20

    for cls in classes:
        assert cls in api_errors.STATUS, cls.__name__
        assert 400 <= api_errors.STATUS[cls] < 500, cls.__name__
        assert cls.code in api_errors.EXPLANATIONS, cls.code
        assert api_errors.status_of(cls("x")) == api_errors.STATUS[cls]
    assert len({cls.code for cls in classes}) == len(classes), "codes are unique"


def test_a_problem_from_a_partner_key_carries_the_same_request_id_as_its_header(
    client: TestClient, make_partner: Any
) -> None:
    partner = make_partner()
    response = client.get("/v1/partners", headers=partner.server)
    body = assert_problem(response, 403, "forbidden")
    assert body["request_id"] == response.headers["x-request-id"]


def test_a_wrong_method_names_the_allowed_methods_in_allow(
    client: TestClient, operator: dict[str, str]
) -> None:
    # RFC 9110 section 15.5.6: a 405 response MUST carry Allow
    response = client.put("/v1/partners", json=PARTNER, headers=operator)
    assert_problem(response, 405, "method_not_allowed")
    allowed = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
    assert allowed >= {"GET", "POST"}, response.headers


def test_a_401_tells_the_client_to_use_bearer_authentication(client: TestClient) -> None:
    # RFC 9110 section 11.6.1: a 401 response MUST carry WWW-Authenticate
    for headers in ({}, bearer("zpk_test_" + "x" * 40)):
        response = client.get("/v1/balances", headers=headers)
        assert_problem(response, 401, "unauthenticated")
        assert response.headers.get("www-authenticate", "").lower().startswith("bearer")

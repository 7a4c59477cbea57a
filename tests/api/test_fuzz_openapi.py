"""Property: whatever a caller sends to any operation of ``/openapi.json``, the service answers
without a 5xx, every error is an RFC 9457 problem document whose status and code the operation
declares (``x-problem-codes``), and every response has a request id.

Method: schemathesis loads the app's own OpenAPI document in-process (ASGI, no network) and
generates valid and invalid requests per operation (examples, coverage and fuzzing phases),
once as the operator and once as the ``partner_server`` key of a funded EUR partner. One
throwaway SQLite database per module, seeded through ``zeropools.services`` (see
``fuzz_support.build_world``); hooks sometimes swap a generated id or amount for a real one so
the requests reach the handlers' logic, not only ``not_found`` and ``validation_error``. Every
call carries ``Authorization: Bearer ...`` and a fresh ``Idempotency-Key``. Bounded and
derandomized: ``MAX_EXAMPLES`` per operation, so a CI failure reproduces locally.

The schema is loaded eagerly from the document ``create_app`` renders (no store is touched) and
every call is sent to the fixture's app with ``case.call(app=...)``. The lazy
``schemathesis.pytest.from_fixture`` loader would be the natural fit, but schemathesis 4.32
sets ``node._nodeid``, which pytest 9.2 no longer has (AttributeError at run time).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fuzz_support import World, build_world, problem_violations
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from support import sized
from zeropools.api.app import create_app
from zeropools.services.context import Deployment
from zeropools.store.protocol import Store

MAX_EXAMPLES = sized(8, 100)  # per operation and role; ZEROPOOLS_SOAK=1 raises it
ROLES = ("operator", "partner_server")

pytestmark = [pytest.mark.slow, pytest.mark.soak]


def _openapi_document() -> dict[str, Any]:
    """The app's own OpenAPI document. Rendering it touches no store, so none is opened here;
    ``test_served_document_is_the_fuzzed_one`` checks the live app serves the same document."""
    return create_app(Deployment(store=cast(Store, None), mode="test")).openapi()


# What the hooks may substitute: filled by the ``world`` fixture, emptied after it.
KNOWN: dict[str, tuple[str, ...]] = {}  # seeded ids and valid values, by field name
STATEMENTS: list[bytes] = []  # valid bank statement files
IMPORT_PATH = "/v1/payins/import"

DOCUMENT = _openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
# our headers authenticate; generated Authorization values would only replace them
schema.config.generation.update(with_security_parameters=False)
# a partner order file may come as JSON lines: generated strings go on the wire as its text
schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def _with_known(values: Any) -> st.SearchStrategy[Any]:
    """The generated mapping, with each field that has real values sometimes set to one."""
    if not isinstance(values, dict):
        return st.just(values)
    names = [name for name in values if name in KNOWN]
    if not names:
        return st.just(values)
    picks = {name: st.one_of(st.just(values[name]), st.sampled_from(KNOWN[name])) for name in names}
    return st.fixed_dictionaries(picks).map(lambda picked: {**values, **picked})


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: Any) -> st.SearchStrategy[Any]:
    return _with_known(path_parameters)


@schema.hook
def flatmap_query(context: Any, query: Any) -> st.SearchStrategy[Any]:
    return _with_known(query)


@schema.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    return _with_known(body)


def _statement_body(case: Any) -> st.SearchStrategy[Any]:
    """A real statement file, whole or cut at any byte, sent as the raw body."""

    def send(data: bytes) -> Any:
        case.body = data
        case.media_type = "text/plain"  # sent as the bytes given; the format is sniffed
        return case

    whole = st.sampled_from(STATEMENTS)
    cut = whole.flatmap(lambda data: st.integers(0, len(data)).map(lambda n: data[:n]))
    return st.one_of(whole, cut).map(send)


@schema.hook
def flatmap_case(context: Any, case: Any) -> st.SearchStrategy[Any]:
    if context.operation.path != IMPORT_PATH or not STATEMENTS:
        return st.just(case)
    return st.one_of(st.just(case), _statement_body(case))


@dataclass(frozen=True)
class Caller:
    role: str
    secret: str
    app: FastAPI

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.secret}",
            "Idempotency-Key": f"fuzz-{uuid.uuid4().hex}",
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("fuzz") / "zeropools.db"
    built = build_world(f"sqlite:///{db}")
    KNOWN.update(built.known)
    STATEMENTS.extend(built.statements)
    try:
        yield built
    finally:
        KNOWN.clear()
        STATEMENTS.clear()
        built.close()


@pytest.fixture(scope="module")
def app(world: World) -> FastAPI:
    return create_app(world.dep)


@pytest.fixture(scope="module", params=ROLES)
def caller(request: pytest.FixtureRequest, world: World, app: FastAPI) -> Caller:
    secrets = {"operator": world.operator_secret, "partner_server": world.server_secret}
    return Caller(role=request.param, secret=secrets[request.param], app=app)


def problem_documents(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every response has ``X-Request-Id: req_...``; every error is a full problem document."""
    headers = {name.lower(): values for name, values in response.headers.items()}
    wrong = problem_violations(response.status_code, headers, response.content)
    assert not wrong, "; ".join(wrong)
    return None


def declared_problems(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every refusal is one its operation declares: its status listed (not only caught by
    ``default``) and its ``code`` among that status's ``x-problem-codes``."""
    if response.status_code < 400:
        return None
    methods = DOCUMENT["paths"][case.path]
    if case.method.lower() not in methods:
        return None  # a method the path lacks (the coverage phase tries them): 405, `default`
    answers = methods[case.method.lower()]["responses"]
    code = json.loads(response.content).get("code")
    where = f"{case.method} {case.path} answered {response.status_code} {code}"
    declared = answers.get(str(response.status_code))
    assert declared is not None, f"{where}: status not declared"
    assert code in declared.get("x-problem-codes", []), f"{where}: code not declared"
    return None


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_fuzz_openapi(case: Any, caller: Caller) -> None:
    response = case.call(app=caller.app, headers=caller.headers())
    # documented success bodies must match their response models exactly
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            problem_documents,
            declared_problems,
            response_schema_conformance,
        ],
    )


def test_served_document_is_the_fuzzed_one(app: FastAPI) -> None:
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == DOCUMENT


def test_fuzz_support_flags_a_bare_error() -> None:
    """The check itself: a plain-JSON 500 without a request id breaks every rule it knows."""
    wrong = problem_violations(500, {"content-type": ["application/json"]}, b'{"detail": "x"}')
    assert any("X-Request-Id" in w for w in wrong)
    assert any("content-type" in w for w in wrong)
    assert any("lacks" in w for w in wrong)
    assert (
        problem_violations(
            404,
            {"content-type": ["application/problem+json"], "x-request-id": ["req_1"]},
            b'{"type": "/errors/not_found", "title": "No such object", "status": 404, '
            b'"detail": "No such object.", "code": "not_found", "request_id": "req_1"}',
        )
        == []
    )

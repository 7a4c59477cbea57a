"""Fixtures for the trading tests: one database of each kind per module, and an API driver.

Why a database per module rather than per test (as ``tests/conftest.py``'s ``dep`` gives): a
throwaway PostgreSQL database costs about a second to create, migrate and drop, which for the
hundred-odd HTTP cases here would dominate the run. The HTTP tests stay independent anyway:
every test onboards its own partners (balances, sequences, trades and partner-scoped
idempotency keys are all per partner) and ``Http.key`` makes the operator's keys unique per test.
Tests that need an empty database of their own (the concurrency figures) use ``dep``.

``module_dep`` is parametrized like ``db_url``: every test using ``http`` runs once on SQLite
and once on PostgreSQL. PostgreSQL is never skipped silently: an unreachable server fails,
unless ``ZEROPOOLS_SKIP_PG=1`` is set explicitly (never in CI).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support import (
    Http,
    app_client,
    bearer,
    issue_operator_key,
    migrated_pg_database,
    opened_store,
    sqlite_url,
)
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.services.context import Deployment


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_dep(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A deployment on a database of each kind, shared by the tests of one module."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="zp_trading_"))
            url = sqlite_url(Path(tmp))
        else:
            url = stack.enter_context(migrated_pg_database("zp_trading"))
        store = stack.enter_context(opened_store(url))  # closed before the database is dropped
        yield deployment(Settings(db_url=url), store)


@pytest.fixture
def client(module_dep: Deployment) -> Iterator[TestClient]:
    with app_client(module_dep) as test_client:
        yield test_client


@pytest.fixture
def operator_headers(module_dep: Deployment) -> dict[str, str]:
    return bearer(issue_operator_key(module_dep).secret)


@pytest.fixture
def http(client: TestClient, operator_headers: dict[str, str]) -> Http:
    return Http(client, operator_headers)

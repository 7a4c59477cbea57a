"""Fixtures for the trading tests: one database of each kind per module, and an API driver.

Why a database per module rather than per test (as ``tests/conftest.py``'s ``dep`` gives): a
throwaway PostgreSQL database costs about a second to create, migrate and drop, which for the
hundred-odd HTTP cases here would dominate the run. The HTTP tests stay independent anyway:
every test onboards its own partners (balances, sequences, trades and partner-scoped
idempotency keys are all per partner) and ``Api.key`` makes the operator's keys unique per test.
Tests that need an empty database of their own (the concurrency figures) use ``dep``.

``module_dep`` is parametrized like ``db_url``: every test using ``api`` runs once on SQLite
and once on PostgreSQL. PostgreSQL is never skipped silently: an unreachable server fails,
unless ``ZEROPOOLS_SKIP_PG=1`` is set explicitly (never in CI).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from trading_support import Api, bearer

from zeropools.api.app import create_app
from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.domain.clock import utc_now
from zeropools.services import partners
from zeropools.services.context import Ctx, Deployment
from zeropools.store.open import open_store

PG_ADMIN_URL = os.environ.get(
    "ZEROPOOLS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _module_pg_url() -> Iterator[str]:
    if os.environ.get("ZEROPOOLS_SKIP_PG") == "1":
        pytest.skip("ZEROPOOLS_SKIP_PG=1 set explicitly")
    name = f"zp_trading_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_dep(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A deployment on a database of each kind, shared by the tests of one module."""
    with tempfile.TemporaryDirectory(prefix="zp_trading_") as tmp:
        if request.param == "sqlite":
            urls: Iterator[str] = iter([f"sqlite:///{Path(tmp) / 'zeropools.db'}"])
        else:
            urls = _module_pg_url()
        url = next(urls)
        store = open_store(url)
        try:
            initialize(store, "test")
            yield deployment(Settings(db_url=url), store)
        finally:
            store.close()
            for _ in urls:  # drops the PostgreSQL database
                pass


@pytest.fixture
def client(module_dep: Deployment) -> Iterator[TestClient]:
    with TestClient(create_app(module_dep)) as test_client:
        yield test_client


@pytest.fixture
def operator_headers(module_dep: Deployment) -> dict[str, str]:
    ctx = Ctx(request_id=ids.new_id(ids.REQUEST), now=utc_now())
    return bearer(partners.new_operator_key(module_dep, ctx).secret)


@pytest.fixture
def api(client: TestClient, operator_headers: dict[str, str]) -> Api:
    return Api(client, operator_headers)

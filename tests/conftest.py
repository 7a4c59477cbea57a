"""Shared fixtures: a deployment on each store, contexts for each role.

PostgreSQL tests create a throwaway database on the server named by ``ZEROPOOLS_TEST_PG_URL``
(default: the local server) and drop it afterwards. They are never skipped silently: when the
server is unreachable they fail, unless ``ZEROPOOLS_SKIP_PG=1`` is set explicitly (never in CI).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.store.open import open_store
from zeropools.store.protocol import Store

PG_ADMIN_URL = os.environ.get(
    "ZEROPOOLS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
STORES = ["sqlite", "postgres"]


def _swap_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    if os.environ.get("ZEROPOOLS_SKIP_PG") == "1":
        pytest.skip("ZEROPOOLS_SKIP_PG=1 set explicitly")
    name = f"zp_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _swap_database(PG_ADMIN_URL, name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'zeropools.db'}"


@pytest.fixture(params=STORES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of each kind (tests using it run once per store)."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url)
    initialize(opened, "test")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def dep(store: Store, db_url: str) -> Deployment:
    return deployment(Settings(db_url=db_url), store)


def make_ctx(role: str = "operator", partner_id: str | None = None) -> Ctx:
    return Ctx(
        request_id=ids.new_id(ids.REQUEST),
        now=datetime.now(UTC),
        actor=Actor(key_id=ids.new_id(ids.API_KEY), role=role, partner_id=partner_id),
    )


@pytest.fixture
def operator() -> Ctx:
    return make_ctx("operator")

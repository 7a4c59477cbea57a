"""Shared fixtures: a deployment on each store, contexts for each role, an HTTP client.

PostgreSQL tests create a throwaway database on the server named by ``ZEROPOOLS_TEST_PG_URL``
(default: the local server) and drop it afterwards. They are never skipped silently: when the
server is unreachable they fail, unless ``ZEROPOOLS_SKIP_PG=1`` is set explicitly (never in CI).
A database a test opens ``store`` on is a clone of a migrated per-worker template (see
``support.databases``); ``pg_url``/``sqlite_url`` stay empty for the tests of migrations.
``ZEROPOOLS_SOAK=1`` selects the ``soak`` hypothesis profile and full sizes (``support.soak``).

This file also makes the ``tests/support/`` package importable as ``support`` everywhere below
(pytest puts this directory on ``sys.path`` when it imports this conftest). ``support`` holds
every shared helper: databases, contexts, service-layer builders, bank statement fixtures and the
one HTTP driver (``support.Http``) with its partner value (``support.HttpPartner``); its
docstring maps the modules. Directory conftests add only their area's fixtures (an ``http``
driver on their database, an operator key...).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings

from support import (
    SOAK,
    app_client,
    ctx_for,
    drop_templates,
    migrated_pg_database,
    migrated_sqlite_url,
    opened_store,
    sqlite_url,
    throwaway_pg_database,
)
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.services.context import Ctx, Deployment
from zeropools.store.protocol import Store

STORES = ["sqlite", "postgres"]

# Hypothesis profiles (tests that set their own ``max_examples`` size it with ``support.sized``).
# No deadline in either: a per-example time limit is a timing threshold, and on shared cores it
# fails healthy runs; what the properties prove does not depend on how fast they run.
settings.register_profile("quick", max_examples=50, deadline=None)
settings.register_profile("soak", max_examples=500, deadline=None)
settings.load_profile("soak" if SOAK else "quick")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop this process's database templates (xdist workers skip ``atexit``)."""
    drop_templates()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    with throwaway_pg_database("zp_test") as url:
        yield url


@pytest.fixture
def migrated_pg_url() -> Iterator[str]:
    """A PostgreSQL database already migrated and in test mode (a clone of the template)."""
    with migrated_pg_database("zp_test") as url:
        yield url


@pytest.fixture(name="sqlite_url")
def sqlite_url_fixture(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)


@pytest.fixture(params=STORES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database of each kind (tests using it run once per store).

    Empty, unless the test also opens ``store`` (directly or through ``dep``, ``client``...):
    then it is already migrated and in test mode, cloned from the template, since ``store``
    would migrate it anyway (see ``support.databases``: a clone costs a fraction of migrating).
    """
    migrated = "store" in request.fixturenames
    if request.param == "sqlite":
        url = str(request.getfixturevalue("sqlite_url"))
        return migrated_sqlite_url(tmp_path) if migrated else url
    return str(request.getfixturevalue("migrated_pg_url" if migrated else "pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with opened_store(db_url) as opened:
        yield opened


@pytest.fixture
def dep(store: Store, db_url: str) -> Deployment:
    return deployment(Settings(db_url=db_url), store)


@pytest.fixture
def client(dep: Deployment) -> Iterator[TestClient]:
    """A TestClient over ``create_app(dep)`` (so on each store, like ``dep``)."""
    with app_client(dep) as test_client:
        yield test_client


@pytest.fixture
def operator() -> Ctx:
    return ctx_for("operator")

"""Fixtures for the funding tests: an HTTP client and a real operator key on each store.

``dep`` (from ``tests/conftest.py``) gives every test its own empty database, once on SQLite
and once on PostgreSQL; the suspense account and ``verify`` are whole-database facts, so
sharing a database between tests would make them depend on each other.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from funding_support import Http, bearer

from zeropools.api.app import create_app
from zeropools.domain import ids
from zeropools.domain.clock import utc_now
from zeropools.services import partners
from zeropools.services.context import Ctx, Deployment
from zeropools.services.partners import IssuedKey


@pytest.fixture
def client(dep: Deployment) -> Iterator[TestClient]:
    with TestClient(create_app(dep)) as test_client:
        yield test_client


@pytest.fixture
def operator_key(dep: Deployment) -> IssuedKey:
    """An operator key issued the way ``zeropools init`` issues one (its id is ``zpk_...``)."""
    return partners.new_operator_key(dep, Ctx(request_id=ids.new_id(ids.REQUEST), now=utc_now()))


@pytest.fixture
def http(client: TestClient, operator_key: IssuedKey) -> Http:
    return Http(client, bearer(operator_key.secret))

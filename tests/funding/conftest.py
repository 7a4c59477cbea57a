"""Fixtures for the funding tests: a real operator key and the HTTP driver on each store.

``dep`` and ``client`` (from ``tests/conftest.py``) give every test its own empty database, once
on SQLite and once on PostgreSQL; the suspense account and ``verify`` are whole-database facts,
so sharing a database between tests would make them depend on each other. ``http`` is the shared
driver (``support.Http``); these tests read balances and entries as the operator would
(``by="operator"``), the review queue being the operator's.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from support import Http, bearer, issue_operator_key
from zeropools.services.context import Deployment
from zeropools.services.partners import IssuedKey


@pytest.fixture
def operator_key(dep: Deployment) -> IssuedKey:
    """An operator key issued the way ``zeropools init`` issues one (its id is ``zpk_...``)."""
    return issue_operator_key(dep)


@pytest.fixture
def http(client: TestClient, operator_key: IssuedKey) -> Http:
    return Http(client, bearer(operator_key.secret))

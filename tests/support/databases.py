"""Databases for tests: SQLite file URLs, throwaway PostgreSQL databases, opened stores.

PostgreSQL tests create a throwaway database on the server named by ``ZEROPOOLS_TEST_PG_URL``
(default: the local server) and drop it afterwards. They are never skipped silently: when the
server is unreachable they fail, unless ``ZEROPOOLS_SKIP_PG=1`` is set explicitly (never in CI).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from zeropools.bootstrap import initialize
from zeropools.store.open import open_store
from zeropools.store.protocol import Store

PG_ADMIN_URL = os.environ.get(
    "ZEROPOOLS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def sqlite_url(directory: Path, filename: str = "zeropools.db") -> str:
    """The URL of a SQLite database file ``filename`` in ``directory``."""
    return f"sqlite:///{directory / filename}"


@contextmanager
def throwaway_pg_database(prefix: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database on ``ZEROPOOLS_TEST_PG_URL``; its URL. Dropped after.

    Never skipped silently: an unreachable server fails, unless ``ZEROPOOLS_SKIP_PG=1`` is set
    explicitly (never in CI), which skips the calling test.
    """
    if os.environ.get("ZEROPOOLS_SKIP_PG") == "1":
        import pytest  # only fixtures get here; the worker processes stay free of pytest

        pytest.skip("ZEROPOOLS_SKIP_PG=1 set explicitly")
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def open_test_store(url: str) -> Store:
    """The store at ``url``, migrated and initialized in test mode; the caller closes it."""
    store = open_store(url)
    initialize(store, "test")
    return store


@contextmanager
def opened_store(url: str) -> Iterator[Store]:
    """``open_test_store(url)`` for the ``with`` block; closed afterwards."""
    store = open_test_store(url)
    try:
        yield store
    finally:
        store.close()

"""Databases for tests: SQLite file URLs, throwaway PostgreSQL databases, opened stores.

PostgreSQL tests create a throwaway database on the server named by ``ZEROPOOLS_TEST_PG_URL``
(default: the local server) and drop it afterwards. They are never skipped silently: when the
server is unreachable they fail, unless ``ZEROPOOLS_SKIP_PG=1`` is set explicitly (never in CI).

Why templates: migrating a new PostgreSQL database costs about 1.6 s here (nine migrations, each
a round of DDL), cloning a migrated one with ``CREATE DATABASE ... TEMPLATE`` about a third of
that, and a SQLite migration is three times a file copy. So each process (each xdist worker)
migrates one template of each kind on first use, in test mode, and every migrated database a
test asks for is a clone of it: the same schema and settings ``migrate`` + ``initialize`` give,
made by the very same code, once per process. Templates live as long as the process (dropped at
exit) so they always match the migrations of the checkout under test. Tests of migrations
themselves ask for an empty database (``throwaway_pg_database``, ``sqlite_url``) and migrate it.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import sqlite3
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from zeropools.bootstrap import initialize
from zeropools.store.open import open_store
from zeropools.store.protocol import Store
from zeropools.store.sql import Pipelining
from zeropools.store.sqlite import path_from_url

PG_ADMIN_URL = os.environ.get(
    "ZEROPOOLS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_MODE = "test"

_template_lock = threading.Lock()  # bench scripts and workers may ask from several threads
_templates: dict[str, str] = {}  # "postgres" -> database name, "sqlite" -> file path


def sqlite_url(directory: Path, filename: str = "zeropools.db") -> str:
    """The URL of a SQLite database file ``filename`` in ``directory``."""
    return f"sqlite:///{directory / filename}"


def _pg_url_of(name: str) -> str:
    return f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"


def _admin(statement: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(statement.encode())


def _skip_pg_if_asked() -> None:
    if os.environ.get("ZEROPOOLS_SKIP_PG") == "1":
        import pytest  # only fixtures get here; the worker processes stay free of pytest

        pytest.skip("ZEROPOOLS_SKIP_PG=1 set explicitly")


@contextmanager
def _pg_database(prefix: str) -> Iterator[str]:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url_of(name)
    finally:
        _drop(name)


@contextmanager
def throwaway_pg_database(prefix: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database on ``ZEROPOOLS_TEST_PG_URL``; its URL. Dropped after.

    Never skipped silently: an unreachable server fails, unless ``ZEROPOOLS_SKIP_PG=1`` is set
    explicitly (never in CI), which skips the calling test.
    """
    _skip_pg_if_asked()
    with _pg_database(prefix) as url:
        yield url


def _pg_template() -> str:
    """This process's migrated PostgreSQL template (created on first use, dropped at exit)."""
    name = _templates.get("postgres")
    if name is None:
        name = f"zp_tmpl_{os.getpid()}_{secrets.token_hex(4)}"
        _admin(f'CREATE DATABASE "{name}"')
        _templates["postgres"] = name  # from here on, dropped at exit whatever happens next
        # closed before any clone: PostgreSQL copies only a template nobody is connected to
        open_test_store(_pg_url_of(name), template=False).close()
    return name


class _Clones:
    """Clones of the template, made one ahead and dropped behind by two background threads.

    Why: cloning a database takes about 0.3-0.8 s here and dropping one 0.5-2.5 s (PostgreSQL
    15 forces a checkpoint on every DROP DATABASE), server work a test need not wait for. One
    thread clones the next test's database while a test runs; another drops used ones. Both
    are bounded: one spare, and at most ``DROPS_PENDING_MAX`` databases awaiting their drop (a
    test hands its database back only when fewer are pending), so a slow server makes tests
    wait rather than databases pile up.
    """

    DROPS_PENDING_MAX = 4

    def __init__(self) -> None:
        self._cloner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zp-test-clone")
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zp-test-drop")
        self._spare: Future[str] | None = None
        self._drops: deque[Future[None]] = deque()

    def _clone(self) -> str:
        name = f"zp_clone_{os.getpid()}_{secrets.token_hex(4)}"
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template()}"')
        return name

    def take(self) -> str:
        ready = self._spare or self._cloner.submit(self._clone)
        self._spare = self._cloner.submit(self._clone)  # the next test's, made while this runs
        return ready.result()

    def give_back(self, name: str) -> None:
        while self._drops and (self._drops[0].done() or len(self._drops) >= self.DROPS_PENDING_MAX):
            self._drops.popleft().result()  # a failed drop fails the test that waits for it
        self._drops.append(self._dropper.submit(_drop, name))

    def close(self) -> None:
        """Finish the pending clone and drops, then drop the spare."""
        self._cloner.shutdown(wait=True)
        self._dropper.shutdown(wait=True)
        if self._spare is not None and self._spare.exception() is None:
            _drop(self._spare.result())
        self._spare = None


def _drop(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_clones: _Clones | None = None


_OWNER_PID = os.getpid()


def drop_templates() -> None:
    """Drop this process's spare clone and templates (idempotent).

    Called when pytest ends in each process (``tests/conftest.py``: xdist workers leave through
    ``os._exit``, which skips ``atexit``) and at exit for any other process.
    """
    global _clones
    if os.getpid() != _OWNER_PID:
        return  # a forked child inherited this hook: the templates are its parent's
    if _clones is not None:
        _clones.close()
        _clones = None
    if "postgres" in _templates:
        _drop(_templates.pop("postgres"))
    if "sqlite" in _templates:
        shutil.rmtree(Path(_templates.pop("sqlite")).parent, ignore_errors=True)


atexit.register(drop_templates)


@contextmanager
def migrated_pg_database(prefix: str = "zp_clone") -> Iterator[str]:
    """Like ``throwaway_pg_database``, but migrated and initialized in test mode: a clone of
    this process's template, what ``open_test_store`` would make of an empty database.

    (``prefix`` is kept for callers; clones are named ``zp_clone_<pid>_<hex>``, made ahead.)
    """
    global _clones
    _skip_pg_if_asked()
    with _template_lock:
        if _clones is None:
            _clones = _Clones()
        name = _clones.take()
    try:
        yield _pg_url_of(name)
    finally:
        _clones.give_back(name)


def _sqlite_template() -> Path:
    """This process's migrated SQLite template file (created on first use, removed at exit)."""
    with _template_lock:
        path = _templates.get("sqlite")
        if path is None:
            folder = tempfile.mkdtemp(prefix="zp_tmpl_")
            url = sqlite_url(Path(folder), "template.db")
            open_test_store(url, template=False).close()
            # fold the write-ahead log into the file, so the file alone is the whole database
            with sqlite3.connect(path_from_url(url)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
            path = str(path_from_url(url))
            _templates["sqlite"] = path
        return Path(path)


def migrated_sqlite_url(directory: Path, filename: str = "zeropools.db") -> str:
    """``sqlite_url(directory, filename)`` with a migrated test-mode database already there."""
    url = sqlite_url(directory, filename)
    _copy_sqlite_template(path_from_url(url))
    return url


def _copy_sqlite_template(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template(), target)


def open_test_store(url: str, template: bool = True) -> Store:
    """The store at ``url``, migrated and initialized in test mode; the caller closes it.

    A SQLite file that does not exist yet starts as a copy of the migrated template (unless
    ``template`` is False): the same database, without running the migrations again.
    """
    if template and url.startswith("sqlite:///") and not path_from_url(url).exists():
        _copy_sqlite_template(path_from_url(url))
    store = open_store(url)
    initialize(store, TEST_MODE)
    return store


@contextmanager
def opened_store(url: str) -> Iterator[Store]:
    """``open_test_store(url)`` for the ``with`` block; closed afterwards."""
    store = open_test_store(url)
    try:
        yield store
    finally:
        store.close()


def counted_pipelining(conn: psycopg.Connection[Any]) -> tuple[Pipelining, list[int]]:
    """psycopg pipelines over ``conn`` for an ``Executor``, and how many have synced so far
    (each one round trip): for tests that count what travels together."""
    synced = [0]

    @contextmanager
    def counted() -> Iterator[Any]:
        with conn.pipeline() as pipeline:
            yield pipeline
        synced[0] += 1

    return Pipelining(counted, conn.cursor), synced


def recorded_calls(monkeypatch: Any, owner: type, method: str) -> list[Any]:
    """``owner.method`` wrapped (through pytest's ``monkeypatch``) to note the first argument of
    every call, then run as before: for tests that count a store's reads."""
    calls: list[Any] = []
    original = getattr(owner, method)

    def recording(self: Any, first: Any, *rest: Any, **named: Any) -> Any:
        calls.append(first)
        return original(self, first, *rest, **named)

    monkeypatch.setattr(owner, method, recording)
    return calls

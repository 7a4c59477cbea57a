"""SQLite store: the embedded default (WAL, ``synchronous=FULL``, foreign keys on).

One connection per thread. Writers take the database write lock up front with ``BEGIN
IMMEDIATE``, which serializes every balance change across threads and processes; readers see a
consistent WAL snapshot and never block writers.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from zeropools.domain import limits
from zeropools.domain.clock import to_rfc3339, utc_now
from zeropools.store.migrations import SCHEMA_MIGRATIONS_DDL, migrations, pending_names
from zeropools.store.protocol import IntegrityViolation, RetryableConflict, Tx
from zeropools.store.sql import SqlTx

T = TypeVar("T")


def path_from_url(url: str) -> Path:
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f"not a SQLite URL: {url!r} (expected sqlite:///path/to/file.db)")
    return Path(url[len(prefix) :])


def split_statements(script: str) -> list[str]:
    """Statements of a script, trigger bodies kept whole (``executescript`` would COMMIT)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    assert not pending.strip(), f"incomplete statement: {pending[:80]}"
    return statements


class SqliteStore:
    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = path_from_url(url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                timeout=limits.SQLITE_BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,  # only so close() may run from another thread
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _transaction(self, begin: str, work: Callable[[Tx], T]) -> T:
        for attempt in range(limits.TRANSACTION_RETRIES_MAX):
            conn = self._connection()
            conn.execute(begin)
            try:
                result = work(SqlTx(conn.cursor(), "?", ""))
                conn.execute("COMMIT")
                return result
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                if "UNIQUE" in str(exc) and attempt + 1 < limits.TRANSACTION_RETRIES_MAX:
                    continue
                raise IntegrityViolation(str(exc)) from exc
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if "locked" in str(exc) and attempt + 1 < limits.TRANSACTION_RETRIES_MAX:
                    time.sleep(limits.TRANSACTION_RETRY_BACKOFF_S * (attempt + 1))
                    continue
                raise
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        raise RetryableConflict("transaction kept conflicting")

    def write(self, work: Callable[[Tx], T], lane: str | None = None) -> T:
        # a plain store has no lanes: every write is a transaction of its own
        return self._transaction("BEGIN IMMEDIATE", work)

    def read(self, work: Callable[[Tx], T]) -> T:
        return self._transaction("BEGIN", work)

    def _applied(self, conn: sqlite3.Connection) -> set[int]:
        conn.execute(SCHEMA_MIGRATIONS_DDL)
        return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}

    def pending_migrations(self) -> list[str]:
        applied = self._applied(self._connection())
        return pending_names(self.dialect, applied)

    def migrate(self) -> list[str]:
        conn = self._connection()
        done = []
        for migration in migrations(self.dialect):
            conn.execute("BEGIN IMMEDIATE")
            try:
                if migration.version in self._applied(conn):
                    conn.execute("COMMIT")
                    continue
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, to_rfc3339(utc_now())),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            done.append(f"{migration.version:04d}_{migration.name}")
        return done

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

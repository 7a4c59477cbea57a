"""SQLite store: the embedded default (WAL, ``synchronous=FULL``, foreign keys on).

Writers use one connection per thread and take the database write lock up front with ``BEGIN
IMMEDIATE``, which serializes every balance change across threads and processes. Before it,
each takes the *writer lock*: an exclusive ``flock`` on ``<db>.writer-lock``, held to the end
of the transaction. SQLite's own lock cannot wake a waiter: a writer that finds it taken sleeps
in the busy handler (up to 100 ms a time), which with two ``serve`` processes put seconds on
the tail latency; the kernel hands a ``flock`` to the next waiter the moment it is released,
and releases it with the file descriptors of a process that dies. (SQLite's busy timeout still
bounds a wait on a writer that takes no writer lock, such as the ``sqlite3`` shell.) Readers
borrow a connection of their own from a small pool (``sqlite_readers``), made read-only with
``query_only``: a read context may outlive the call that opened it (a streamed export), be
iterated from other threads, and it sees one consistent WAL snapshot without blocking writers.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from zeropools.domain import limits
from zeropools.domain.clock import to_rfc3339, utc_now
from zeropools.store.migrations import SCHEMA_MIGRATIONS_DDL, migrations, pending_names
from zeropools.store.protocol import IntegrityViolation, RetryableConflict, Tx
from zeropools.store.sql import SQLITE, Executor, SqlTx
from zeropools.store.sqlite_readers import ReaderPool

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


def _connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        isolation_level=None,  # we issue BEGIN/COMMIT ourselves
        timeout=limits.SQLITE_BUSY_TIMEOUT_MS / 1000,
        # writers: only so close() may run from another thread; readers: a read context is
        # iterated from whichever thread consumes its stream (one at a time)
        check_same_thread=False,
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    if read_only:
        # as PostgreSQL's READ ONLY transactions: a write through a reader is refused
        conn.execute("PRAGMA query_only=ON")
    return conn


def _executor(conn: sqlite3.Connection) -> Executor:
    # A stream gets a second cursor of the connection: SQLite steps a statement row by row on
    # demand, so fetching in batches from it never holds more than a batch.
    return Executor(conn.cursor(), SQLITE, functools.partial(_stream_cursor, conn))


def _stream_cursor(conn: sqlite3.Connection, plain: bool) -> sqlite3.Cursor:
    cursor = conn.cursor()
    if plain:
        cursor.row_factory = None  # tuples, not ``sqlite3.Row``: bulk reads index by position
    return cursor


class SqliteStore:
    dialect = "sqlite"

    def __init__(
        self, url: str, read_connections_max: int = limits.SQLITE_READ_CONNECTIONS_MAX
    ) -> None:
        self.url = url
        self.path = path_from_url(url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_path = self.path.with_name(self.path.name + ".writer-lock")
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock_fds: list[int] = []
        self._all_lock = threading.Lock()
        self._readers = ReaderPool(
            lambda: _connect(self.path, read_only=True),
            read_connections_max,
            limits.SQLITE_READ_CONNECTION_WAIT_S,
        )

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _retrying(self, attempt_once: Callable[[], T]) -> T:
        for attempt in range(limits.TRANSACTION_RETRIES_MAX):
            try:
                return attempt_once()
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc) and attempt + 1 < limits.TRANSACTION_RETRIES_MAX:
                    continue
                raise IntegrityViolation(str(exc)) from exc
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and attempt + 1 < limits.TRANSACTION_RETRIES_MAX:
                    time.sleep(limits.TRANSACTION_RETRY_BACKOFF_S * (attempt + 1))
                    continue
                raise
        raise RetryableConflict("transaction kept conflicting")

    def _writer_lock(self) -> int:
        """This thread's descriptor of the writer-lock file: ``flock`` locks belong to an open
        file, so the writer threads of one process also exclude each other through it."""
        fd: int | None = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._local.lock_fd = fd
            with self._all_lock:
                self._lock_fds.append(fd)
        return fd

    def _write_once(self, work: Callable[[Tx], T]) -> T:
        lock = self._writer_lock()
        fcntl.flock(lock, fcntl.LOCK_EX)  # blocks without the GIL until the lock is ours
        try:
            return self._locked_write(work)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _locked_write(self, work: Callable[[Tx], T]) -> T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        executor = _executor(conn)
        try:
            tx = SqlTx(executor, commits=True)
            result = work(tx)
            tx.before_commit()
            executor.close()
            conn.execute("COMMIT")
            return result
        except BaseException:
            executor.close()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def write(self, work: Callable[[Tx], T], lane: str | None = None) -> T:
        # a plain store has no lanes: every write is a transaction of its own
        return self._retrying(lambda: self._write_once(work))

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        with self._readers.connection() as conn:
            # Deferred: the snapshot is taken by the first read and held until the end.
            conn.execute("BEGIN")
            executor = _executor(conn)
            try:
                yield SqlTx(executor)
            finally:
                executor.close()
                if conn.in_transaction:  # SQLite may have ended it already, on some errors
                    conn.execute("ROLLBACK")  # a reader has nothing to commit

    def read(self, work: Callable[[Tx], T]) -> T:
        def once() -> T:
            with self.reading() as tx:
                return work(tx)

        return self._retrying(once)

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
            for fd in self._lock_fds:
                os.close(fd)
            self._lock_fds.clear()
        self._local = threading.local()
        self._readers.close()

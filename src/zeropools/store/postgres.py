"""PostgreSQL store: psycopg 3 with a connection pool, durable commits.

Every balance change locks its partner's row (``SELECT ... FOR NO KEY UPDATE``) first, so
changes of one partner are serialized and different partners never wait on each other. A
unique key raced by another process (the same bank transaction id posted twice at once)
surfaces as ``UniqueViolation`` and the whole transaction runs again, seeing the winner.

Reads run in a REPEATABLE READ READ ONLY transaction: one snapshot for everything the reader
does. Streams read through a named (server-side) cursor, so the server keeps the result and
the client holds one batch at a time, whatever the number of rows.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import ConnectionPool

from zeropools.domain import limits
from zeropools.domain.clock import to_rfc3339, utc_now
from zeropools.store.migrations import SCHEMA_MIGRATIONS_DDL, migrations, pending_names
from zeropools.store.protocol import IntegrityViolation, LockWaitExceeded, RetryableConflict, Tx
from zeropools.store.sql import POSTGRES, Executor, Pipelining, SqlTx

T = TypeVar("T")
# Arbitrary constant: serializes concurrent `zeropools init`/`serve` migrating one database.
_MIGRATION_LOCK_KEY = 0x7A65726F706F6F6C
_SNAPSHOT = psycopg.IsolationLevel.REPEATABLE_READ
_RETRYABLE = (pg_errors.UniqueViolation, pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


@contextmanager
def _executor(conn: psycopg.Connection[Any]) -> Iterator[Executor]:
    """An executor for the transaction open on ``conn``; its cursors close before it ends."""
    names = itertools.count(1)  # a named cursor's name is unique within its session

    def stream_cursor(plain: bool) -> psycopg.ServerCursor[Any]:
        # plain: tuples, not dicts, for bulk reads that index by position
        name = f"zp_stream_{next(names)}"
        if plain:
            return conn.cursor(name=name, row_factory=tuple_row)
        return conn.cursor(name=name)

    executor = Executor(
        conn.cursor(), POSTGRES, stream_cursor, Pipelining(conn.pipeline, conn.cursor)
    )
    try:
        yield executor
        # the transaction is about to commit: whatever opened it, every deferred write goes
        # first (``Executor.send``); on an error ``close`` drops them with the rollback
        executor.flush()
    finally:
        executor.close()


class PostgresStore:
    dialect = "postgres"

    def __init__(self, url: str, pool_size_max: int = limits.PG_CONNECTION_POOL_SIZE_MAX) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"row_factory": dict_row, "autocommit": False}
        self._pool: ConnectionPool[Any] = ConnectionPool(
            url, min_size=1, max_size=pool_size_max, kwargs=kwargs, open=True, reset=_writable
        )

    def _retrying(self, attempt_once: Callable[[], T]) -> T:
        for attempt in range(limits.TRANSACTION_RETRIES_MAX):
            try:
                return attempt_once()
            except _RETRYABLE as exc:
                if attempt + 1 < limits.TRANSACTION_RETRIES_MAX:
                    time.sleep(limits.TRANSACTION_RETRY_BACKOFF_S * (attempt + 1))
                    continue
                raise IntegrityViolation(str(exc)) from exc
            except psycopg.IntegrityError as exc:
                raise IntegrityViolation(str(exc)) from exc
            except pg_errors.LockNotAvailable as exc:  # a bound the work set itself
                raise LockWaitExceeded(str(exc)) from exc
        raise RetryableConflict("transaction kept conflicting")

    def _write_once(self, work: Callable[[Tx], T]) -> T:
        with (
            self._pool.connection() as conn,
            conn.transaction(),
            _executor(conn) as executor,
        ):
            tx = SqlTx(executor, commits=True)
            result = work(tx)
            tx.before_commit()
            return result

    def write(self, work: Callable[[Tx], T], lane: str | None = None) -> T:
        # a plain store has no lanes: every write is a transaction of its own
        return self._retrying(lambda: self._write_once(work))

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        with self._pool.connection() as conn:
            # Set as connection attributes, the snapshot and read-only mode ride on the BEGIN
            # itself instead of costing a statement of their own on every read.
            conn.read_only = True
            conn.isolation_level = _SNAPSHOT
            with conn.transaction(), _executor(conn) as executor:
                yield SqlTx(executor)

    def read(self, work: Callable[[Tx], T]) -> T:
        def once() -> T:
            with self.reading() as tx:
                return work(tx)

        return self._retrying(once)

    def pending_migrations(self) -> list[str]:
        with self._pool.connection() as conn:
            conn.execute(SCHEMA_MIGRATIONS_DDL)
            applied = {
                row["version"] for row in conn.execute("SELECT version FROM schema_migrations")
            }
        return pending_names(self.dialect, applied)

    def migrate(self) -> list[str]:
        done = []
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))
            conn.execute(SCHEMA_MIGRATIONS_DDL)
            applied = {
                row["version"] for row in conn.execute("SELECT version FROM schema_migrations")
            }
            for migration in migrations(self.dialect):
                if migration.version in applied:
                    continue
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, to_rfc3339(utc_now())),
                )
                done.append(f"{migration.version:04d}_{migration.name}")
        return done

    def close(self) -> None:
        self._pool.close()


def _writable(conn: psycopg.Connection[Any]) -> None:
    """Back in the pool: the default read-write, read-committed session for the next user."""
    conn.read_only = None
    conn.isolation_level = None

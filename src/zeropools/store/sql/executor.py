"""One executor for every aggregate's SQL: a driver cursor plus a small ``Dialect``.

The SQL is written once, with ``%s`` placeholders, and runs unchanged on both databases; what
differs between them is named in ``Dialect`` (placeholder style, the row-lock clause) and in how
a stream gets its rows (``open_stream_cursor``: a named server-side cursor on PostgreSQL, a
second cursor on SQLite, whose statements step lazily anyway).

Writes nobody reads an answer of (``send``, ``send_many``: a trade's row, its posting, its
event, the stored response) wait, on PostgreSQL, for the next statement that needs an answer,
and go with it in one round trip (psycopg's pipeline mode); the store flushes what is left
before it commits (``store.postgres._executor``). Order is kept, and a deferred write that fails
fails the statement it travelled with, which fails the transaction just as the write itself
would have (nothing refuses after ``Tx.final_writes``, so no caller waits to catch a deferred
write's error). SQLite runs in the process: there is no round trip to save, and ``send`` runs at
once.

Streams live inside their transaction: ``close()``, called by the store before the transaction
ends, closes every stream still open, and a stream resumed after that raises
``StreamClosed`` rather than ending early (a silently truncated export is the worst outcome).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

Row = Mapping[str, Any]


class Cursor(Protocol):
    """What we use of a DB-API cursor; both drivers give rows as mappings."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]], /) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...
    def close(self) -> None: ...

    @property
    def rowcount(self) -> int: ...


@dataclass(frozen=True)
class Pipelining:
    """How a PostgreSQL executor sends deferred writes: the connection's pipeline mode and a
    fresh cursor for each deferred write whose answer is checked."""

    pipeline: Callable[[], AbstractContextManager[Any]]
    cursor: Callable[[], Cursor]


# a deferred write: its SQL (ours), its parameter rows (one for ``send``), and the check of its
# first answer row, if any
_Deferred = tuple[str, Sequence[Sequence[Any]], Callable[[Row], None] | None]


class StreamCursor(Protocol):
    """A cursor for one query read in batches (a named cursor on PostgreSQL)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def fetchmany(self, size: int, /) -> list[Any]: ...
    def close(self) -> None: ...


class StreamClosed(Exception):
    """A lazy read was resumed after its transaction ended."""


@dataclass(frozen=True)
class Dialect:
    name: str
    placeholder: str  # what "%s" in our SQL becomes for the driver
    row_lock: str  # appended to a SELECT that locks the rows it reads; "" where BEGIN locks
    # appended to a SELECT that takes rows no other transaction holds, skipping the held ones
    # (work queues: each worker gets different rows, nobody waits)
    skip_locked: str


# SQLite's BEGIN IMMEDIATE already holds the database write lock: there is no row lock to take.
SQLITE = Dialect("sqlite", "?", "", "")
# NO KEY UPDATE: inserts referencing the partner (pay-ins, entries) take KEY SHARE on its row,
# which FOR UPDATE would deadlock against.
POSTGRES = Dialect("postgres", "%s", "FOR NO KEY UPDATE", "FOR NO KEY UPDATE SKIP LOCKED")


class Executor:
    """Runs SQL for one transaction; the store closes it before the transaction ends."""

    def __init__(
        self,
        cursor: Cursor,
        dialect: Dialect,
        open_stream_cursor: Callable[[bool], StreamCursor],
        pipelining: Pipelining | None = None,
    ) -> None:
        self.dialect = dialect
        self._cursor = cursor
        self._open_stream_cursor = open_stream_cursor
        self._streams: list[StreamCursor] = []
        self._closed = False
        self._pipelining = pipelining
        self._deferred: list[_Deferred] = []
        # called with the SQL before every statement that may write (``SqlTx``: lazy
        # savepoints, and the ledger states it keeps)
        self.before_write: Callable[[str], None] | None = None

    def sql(self, text: str) -> str:
        """Our SQL (written with ``%s``) in the driver's placeholder style."""
        return text.replace("%s", self.dialect.placeholder)

    def run(self, text: str, params: Sequence[Any] = ()) -> int:
        """Execute one statement; the number of rows it changed."""
        if self.before_write is not None:
            self.before_write(text)
        self._execute(text, params)
        return int(self._cursor.rowcount)

    def send(
        self, text: str, params: Sequence[Any] = (), check: Callable[[Row], None] | None = None
    ) -> None:
        """A write whose answer the caller does not need now: deferred on PostgreSQL (see the
        module's docstring); ``check`` is called with its first row once it has run."""
        self._defer(text, [params], check)

    def send_many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        """``many`` for writes whose answer nobody reads (see ``send``)."""
        if rows:
            self._defer(text, rows, None)

    def _defer(
        self, text: str, rows: Sequence[Sequence[Any]], check: Callable[[Row], None] | None
    ) -> None:
        if self.before_write is not None:
            self.before_write(text)  # now, in order: it may send a SAVEPOINT first
        if self._pipelining is None:
            self._write_now(text, rows, check)
        else:
            self._deferred.append((text, rows, check))

    def _write_now(
        self, text: str, rows: Sequence[Sequence[Any]], check: Callable[[Row], None] | None
    ) -> None:
        self._execute_rows(self._cursor, text, rows)
        if check is not None:
            check(self._cursor.fetchone())

    def _execute_rows(self, cursor: Cursor, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if len(rows) == 1:
            # the common case (one entry, one event): psycopg runs executemany in pipeline
            # mode, whose set-up and sync cost more than the one round trip of an execute
            cursor.execute(self.sql(text), rows[0])
        else:
            cursor.executemany(self.sql(text), rows)

    def flush(self) -> None:
        """Send the deferred writes now (the store calls it before ``COMMIT``)."""
        if self._deferred:
            self._execute(None, ())

    def _execute(self, text: str | None, params: Sequence[Any]) -> None:
        """Execute ``text`` (None: nothing), after the deferred writes, in one round trip."""
        if not self._deferred:
            if text is not None:
                self._cursor.execute(self.sql(text), params)
            return
        pending, self._deferred = self._deferred, []
        self._send_pipelined(pending, last=None if text is None else (text, params))

    def _send_pipelined(
        self,
        pending: list[_Deferred],
        answered: int = 0,
        last: tuple[str, Sequence[Any]] | None = None,
    ) -> list[Cursor]:
        """Send ``pending``, then ``last`` on the executor's own cursor, in one pipeline; the
        cursors of the last ``answered`` of ``pending`` (their rows not fetched yet). Each
        check runs once the pipeline has synced."""
        assert self._pipelining is not None
        checked, answers = [], []
        with self._pipelining.pipeline():
            for index, (sql, rows, check) in enumerate(pending):
                wanted = check is not None or index >= len(pending) - answered
                cursor = self._pipelining.cursor() if wanted else self._cursor
                self._execute_rows(cursor, sql, rows)
                if check is not None:
                    checked.append((cursor, check))
                elif wanted:
                    answers.append(cursor)
            if last is not None:
                self._cursor.execute(self.sql(last[0]), last[1])
        for cursor, check in checked:  # the pipeline has synced: every answer is in
            check(cursor.fetchone())
            cursor.close()
        return answers

    def all_together(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """The rows of each of several reads (SELECTs), sent in one round trip on PostgreSQL
        (with the deferred writes before them); one after the other on SQLite."""
        assert all(_reads_only(text) for text, _ in queries), queries
        if self._pipelining is None:
            return [self.all(text, params) for text, params in queries]
        pending, self._deferred = self._deferred, []
        pending += [(text, [params], None) for text, params in queries]
        answers = self._send_pipelined(pending, answered=len(queries))
        rows = [list(cursor.fetchall()) for cursor in answers]
        for cursor in answers:
            cursor.close()
        return rows

    def control(self, text: str) -> None:
        """A transaction-control statement (``SAVEPOINT`` ...): no parameters, no hook."""
        self._execute(text, ())

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows and self.before_write is not None:
            self.before_write(text)
        if len(rows) == 1:
            self._execute(text, rows[0])  # with the deferred writes, if any
        elif rows:
            self.flush()
            self._execute_rows(self._cursor, text, rows)

    def all(self, text: str, params: Sequence[Any] = ()) -> list[Row]:
        # anything but a SELECT here (INSERT ... RETURNING, WITH ...) may write
        if self.before_write is not None and not _reads_only(text):
            self.before_write(text)
        self._execute(text, params)
        return list(self._cursor.fetchall())

    def stream(
        self, text: str, params: Sequence[Any], batch_rows: int
    ) -> Generator[Row, None, None]:
        """The rows of one query, fetched ``batch_rows`` at a time on a cursor of its own."""
        self._check_open()
        self.flush()  # a stream reads what was written before it
        cursor = self._open_stream_cursor(False)
        self._streams.append(cursor)
        return self._fetch(cursor, text, params, batch_rows)

    def stream_tuples(
        self, text: str, params: Sequence[Any], batch_rows: int
    ) -> Generator[list[tuple[Any, ...]], None, None]:
        """The rows of one query as plain tuples in the SELECT's column order, a batch
        (list) at a time: for bulk reads, where a mapping per row costs more than the read."""
        self._check_open()
        self.flush()
        cursor = self._open_stream_cursor(True)
        self._streams.append(cursor)
        batches = self._fetch_batches(cursor, text, params, batch_rows)
        # psycopg serializes a connection's users and waits for the server without the GIL;
        # sqlite3 connections belong to their thread (and SQLite works in this process anyway)
        return read_ahead(batches, batch_rows) if self.dialect.name == "postgres" else batches

    def _fetch_batches(
        self, cursor: StreamCursor, text: str, params: Sequence[Any], batch_rows: int
    ) -> Generator[list[tuple[Any, ...]], None, None]:
        try:
            self._check_open()
            cursor.execute(self.sql(text), params)
            while True:
                self._check_open()
                rows = cursor.fetchmany(batch_rows)
                if rows:
                    yield rows
                    self._check_open()  # as ``_fetch``: resumed late, raise, never end early
                if len(rows) < batch_rows:
                    return
        finally:
            if not self._closed:
                self._streams.remove(cursor)
                cursor.close()

    def _fetch(
        self, cursor: StreamCursor, text: str, params: Sequence[Any], batch_rows: int
    ) -> Generator[Row, None, None]:
        try:
            self._check_open()
            cursor.execute(self.sql(text), params)
            while True:
                self._check_open()
                rows = cursor.fetchmany(batch_rows)
                for row in rows:
                    yield row
                    # resumed after the transaction ended: raise even mid-batch, so a stream's
                    # behaviour does not depend on where the batch boundaries fall
                    self._check_open()
                if len(rows) < batch_rows:
                    return
        finally:
            # An abandoned stream closes here (the generator's close); once the transaction
            # has ended its cursor is already closed and the connection may be someone else's.
            if not self._closed:
                self._streams.remove(cursor)
                cursor.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StreamClosed("read after its transaction ended; keep it inside the `with`")

    def close(self) -> None:
        """Close every stream still open, then the cursor; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._deferred.clear()  # the transaction ends without them (a rollback)
        self.before_write = None  # the transaction's own method: no cycle outlives it
        for cursor in self._streams:
            cursor.close()
        self._streams.clear()
        self._cursor.close()


def _reads_only(text: str) -> bool:
    """A SELECT: it only reads (its row locks last to the commit either way)."""
    return text.lstrip()[:6].upper() == "SELECT"


def chunks(values: Sequence[str], size: int) -> list[Sequence[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def marks(count: int) -> str:
    """``%s, %s, ...``: the placeholders of an IN list or a VALUES row."""
    return ", ".join(["%s"] * count)


def unindexed(column: str) -> str:
    """A text ``column`` as an expression no index serves, with the same values and order
    (both databases). For a query whose filter has its own index: tested on, or ordered by,
    the bare column, SQLite would walk an index on that column instead (the partner's whole
    history, for ``partner_id`` or ``created_at``) to spare sorting the few rows it finds."""
    return f"({column} || '')"


def read_ahead(
    batches: Generator[list[T], None, None], batch_rows: int
) -> Generator[list[T], None, None]:
    """``batches`` (of ``batch_rows`` rows but the last), each after the first fetched by a
    thread while the caller works on the one before. On PostgreSQL a batch of a named cursor
    is a FETCH that waits for the server to produce its rows (for ``verify``, to read each
    event body's JSON; for the export, to render each row): read ahead, the server works while
    the client checks, instead of each waiting for the other. A read that fits in its first
    batch (most bounded ones) starts no thread. Closing this closes ``batches`` once no fetch
    is in flight."""
    try:
        first = next(batches, None)
        if first is None:
            return
        yield first
        if len(first) < batch_rows:  # the last batch: nothing to read ahead
            return
        with ThreadPoolExecutor(1, thread_name_prefix="zeropools-read-ahead") as ahead:
            pending = ahead.submit(next, batches, None)
            try:
                while (batch := pending.result()) is not None:
                    pending = ahead.submit(next, batches, None)
                    yield batch
            finally:
                # a fetch in flight finishes (or fails: the caller is leaving already) first
                with suppress(Exception):
                    pending.result()
    finally:
        batches.close()


def created_window(
    partner_id: str,
    created_gte: str | None,
    created_lt: str | None,
    before: tuple[str, str] | None,
    newest_first: bool,
) -> tuple[list[str], list[Any], str]:
    """WHERE clauses, parameters and ORDER BY of a partner's rows by ``(created_at, id)``:
    inside ``[created_gte, created_lt)``, strictly before the keyset cursor ``before`` (newest
    first) or after it (oldest first)."""
    clauses, params = ["partner_id = %s"], [partner_id]
    for value, op in ((created_gte, ">="), (created_lt, "<")):
        if value is not None:
            clauses.append(f"created_at {op} %s")
            params.append(value)
    if before is not None:
        op = "<" if newest_first else ">"
        clauses.append(f"(created_at {op} %s OR (created_at = %s AND id {op} %s))")
        params += [before[0], before[0], before[1]]
    direction = "DESC" if newest_first else "ASC"
    return clauses, params, f"ORDER BY created_at {direction}, id {direction}"

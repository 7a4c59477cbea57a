"""Reader connections of the SQLite store: a small pool, one read transaction each.

Why not the thread's own connection (``SqliteStore`` keeps one per thread for writes): a read
context may be entered on one thread and iterated or closed on others (Starlette runs a sync
streaming body in its thread pool, one ``next()`` per task), and it holds its snapshot for as
long as the stream lives. So each read context borrows a connection of its own, opened with
``check_same_thread=False`` and used by one thread at a time (whoever holds the context), and
gives it back when the context ends. At most ``size_max`` are open at once; a reader beyond
that waits up to ``wait_s`` for one, then fails (a leak shows up as a timeout, not as an
ever-growing number of open files).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class ReaderPool:
    def __init__(
        self, connect: Callable[[], sqlite3.Connection], size_max: int, wait_s: float
    ) -> None:
        self._connect = connect
        self._wait_s = wait_s
        self._slots = threading.BoundedSemaphore(size_max)
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._generation = 0  # bumped by close(): connections lent before it are not reused

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection with no transaction open, for the ``with`` block."""
        if not self._slots.acquire(timeout=self._wait_s):
            raise TimeoutError(f"no SQLite reader connection free after {self._wait_s} s")
        try:
            with self._lock:
                generation = self._generation
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._connect()
            try:
                yield conn
            finally:
                self._give_back(conn, generation)
        finally:
            self._slots.release()

    def _give_back(self, conn: sqlite3.Connection, generation: int) -> None:
        if conn.in_transaction:  # the borrower failed before ending its transaction
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                conn.close()  # not reusable; the borrower's own error is the one to see
                return
        with self._lock:
            if generation == self._generation:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close the idle connections; those lent out close when they come back."""
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

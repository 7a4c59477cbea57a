"""The SQLite store's reader connections: reused, bounded, and never lent out dirty.

Goal: ``SqliteStore.reading()`` borrows its connection from ``ReaderPool`` (it cannot use the
thread's own writer connection: a streamed read outlives the call and moves between threads).
The pool must reuse connections rather than open one per read, never have more than its bound
open at once (a leak becomes a loud timeout, not a pile of open files), hand back a connection
with no transaction left open whatever the borrower did, and close what it holds on ``close``.

Method: a ``ReaderPool`` over real SQLite connections to a throwaway file, with a bound of one
or two and a short wait, driven directly; then the same bound through ``SqliteStore``.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from support import opened_store
from zeropools.store.sqlite import SqliteStore
from zeropools.store.sqlite_readers import ReaderPool

WAIT_S = 0.05


@pytest.fixture
def opened() -> list[sqlite3.Connection]:
    """Every connection the pool under test opened, in order."""
    return []


@pytest.fixture
def pool(tmp_path: Path, opened: list[sqlite3.Connection]) -> ReaderPool:
    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(tmp_path / "readers.db", isolation_level=None)
        opened.append(conn)
        return conn

    return ReaderPool(connect, size_max=2, wait_s=WAIT_S)


def is_closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_connections_are_reused_and_at_most_the_bound_are_open(
    pool: ReaderPool, opened: list[sqlite3.Connection]
) -> None:
    with pool.connection() as first:
        pass
    with pool.connection() as again:
        assert again is first
    with pool.connection() as one, pool.connection() as two:
        assert one is not two
        with pytest.raises(TimeoutError), pool.connection():
            pass  # a third would exceed the bound
    assert len(opened) == 2


def test_a_reader_waits_for_a_connection_given_back_by_another_thread(tmp_path: Path) -> None:
    pool = ReaderPool(lambda: sqlite3.connect(tmp_path / "one.db"), size_max=1, wait_s=10.0)
    got: list[sqlite3.Connection] = []
    with pool.connection() as held:
        waiter = threading.Thread(target=lambda: got.append(_borrow(pool)))
        waiter.start()
        waiter.join(timeout=WAIT_S)
        assert waiter.is_alive(), "borrowed past the bound"
    waiter.join()
    assert got == [held]


def _borrow(pool: ReaderPool) -> sqlite3.Connection:
    with pool.connection() as conn:
        return conn


def test_a_connection_comes_back_without_an_open_transaction(pool: ReaderPool) -> None:
    with pytest.raises(RuntimeError), pool.connection() as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT 1").fetchall()
        raise RuntimeError("the borrower failed mid-transaction")
    with pool.connection() as again:
        assert again is conn
        assert not again.in_transaction


def test_close_closes_idle_connections_now_and_lent_ones_when_they_come_back(
    pool: ReaderPool, opened: list[sqlite3.Connection]
) -> None:
    with pool.connection():
        pass
    with pool.connection() as lent:
        pool.close()
        assert not is_closed(lent)  # its borrower is still using it
    assert all(is_closed(conn) for conn in opened)
    with pool.connection() as fresh:  # the pool goes on, with new connections
        assert fresh not in opened[:1]
        assert not is_closed(fresh)


def test_the_store_bounds_its_readers_and_reuses_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with opened_store(url):
        pass  # migrated and initialized
    store = SqliteStore(url, read_connections_max=1)
    try:
        for _ in range(3):  # sequential reads share the one connection
            assert store.read(lambda tx: tx.get_setting("mode")) == "test"
        with store.reading() as tx:
            assert tx.get_setting("mode") == "test"
            # a write still works while the only reader is lent: writers have their own
            store.write(lambda tx: tx.set_setting("k", "v"))
    finally:
        store.close()

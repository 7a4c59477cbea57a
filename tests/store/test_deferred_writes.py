"""Deferred writes: on PostgreSQL a write nobody reads travels with the next statement.

Goal (issue 13, "fewer round trips"): ``Executor.send`` / ``send_many`` (a trade's row, its
posting, its event, the stored response) do not wait for their own round trip on PostgreSQL;
they are sent, in order, in one pipeline with the next statement that needs an answer, or by
``flush`` before the commit. What must hold: order is kept (a read sees every write sent
before it), a deferred write's failure or a failed ``check`` of its answer surfaces from the
statement it travelled with (so the transaction fails as it would have), a rollback drops what
was never sent, and on SQLite ``send`` simply runs at once. ``all_together`` (an execution's
quote and order reads) sends several reads in one round trip, after the deferred writes.

Method: an ``Executor`` over a real psycopg connection (a temporary table, one transaction),
with the connection's ``pipeline`` wrapped to count how many pipelines were synced; and over a
SQLite connection for the immediate path. The trade path through the stores is covered by the
contract, trading and reliability suites, which run on this code.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from support import counted_pipelining
from zeropools.store import postgres
from zeropools.store.sql import POSTGRES, SQLITE, Executor
from zeropools.store.sql.executor import Row

INSERT = "INSERT INTO t (a) VALUES (%s)"
COUNT = "SELECT count(*) AS n FROM t"


class CheckFailed(Exception):
    pass


@pytest.fixture
def pg(pg_url: str) -> Iterator[tuple[Executor, list[int], psycopg.Connection[Any]]]:
    conn = psycopg.connect(pg_url, row_factory=dict_row)
    pipelining, synced = counted_pipelining(conn)
    try:
        conn.execute("CREATE TEMP TABLE t (a int PRIMARY KEY)")
        executor = Executor(conn.cursor(), POSTGRES, lambda plain: conn.cursor(), pipelining)
        yield executor, synced, conn
    finally:
        conn.close()


def _no_stream(plain: bool) -> Any:
    raise AssertionError("no stream in these tests")


def test_sends_travel_in_order_with_the_next_statement_in_one_round_trip(pg: Any) -> None:
    executor, synced, _ = pg
    executor.send(INSERT, (1,))
    executor.send_many(INSERT, [(2,), (3,)])
    executor.send(INSERT, (4,))
    assert synced[0] == 0  # nothing has travelled yet
    assert executor.all(COUNT) == [{"n": 4}]  # the read sees every write sent before it
    assert synced[0] == 1  # all of them and the read: one pipeline
    assert executor.all(COUNT) == [{"n": 4}]
    assert synced[0] == 1  # nothing was waiting: a plain statement


def test_a_check_runs_on_the_answer_and_fails_the_statement_it_travelled_with(pg: Any) -> None:
    executor, _, _ = pg
    seen: list[Row] = []

    def check(row: Row) -> None:
        seen.append(row)
        if row["n"] != 2:
            raise CheckFailed(f"wrote {row['n']}")

    counted = "WITH w AS (INSERT INTO t (a) VALUES (%s) RETURNING 1) SELECT count(*) AS n FROM w"
    executor.send(counted, (1,), check)
    assert seen == []
    with pytest.raises(CheckFailed, match="wrote 1"):
        executor.run(INSERT, (2,))
    assert seen == [{"n": 1}]


def test_a_failing_deferred_write_fails_the_next_statement_and_the_transaction(pg: Any) -> None:
    executor, _, conn = pg
    executor.run(INSERT, (1,))
    executor.send(INSERT, (1,))  # a duplicate key: fails only when it is sent
    with pytest.raises(psycopg.errors.UniqueViolation):
        executor.all(COUNT)
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR


def test_flush_sends_what_is_left_and_close_drops_what_was_never_sent(pg: Any) -> None:
    executor, synced, conn = pg
    executor.send(INSERT, (1,))
    executor.flush()
    assert synced[0] == 1
    executor.send(INSERT, (2,))
    executor.close()  # the transaction ends without it
    assert conn.execute(COUNT).fetchall() == [{"n": 1}]


def test_reads_together_come_back_in_order_after_the_writes_before_them(pg: Any) -> None:
    executor, synced, _ = pg
    executor.send_many(INSERT, [(1,), (2,), (3,)])
    above, below = executor.all_together(
        [("SELECT a FROM t WHERE a > %s ORDER BY a", (1,)), ("SELECT a FROM t WHERE a < %s", (2,))]
    )
    assert (above, below) == ([{"a": 2}, {"a": 3}], [{"a": 1}])
    assert synced[0] == 1  # the writes and both reads: one round trip
    with pytest.raises(AssertionError):  # reads only: a write must not lose its answer
        executor.all_together([(INSERT, (4,))])


def test_the_postgres_store_sends_what_is_deferred_before_commit_and_drops_it_on_error(
    pg_url: str,
) -> None:
    # whoever opened the transaction (not only SqlTx.before_commit): the store's own executor
    with psycopg.connect(pg_url, row_factory=dict_row, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (a int PRIMARY KEY)")
        with conn.transaction(), postgres._executor(conn) as executor:
            executor.send(INSERT, (1,))
        with pytest.raises(CheckFailed), conn.transaction(), postgres._executor(conn) as executor:
            executor.send(INSERT, (2,))
            raise CheckFailed("the work failed")
        assert conn.execute("SELECT a FROM t").fetchall() == [{"a": 1}]


def test_on_sqlite_a_send_runs_at_once() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
    executor = Executor(conn.cursor(), SQLITE, _no_stream)

    def check(row: Row) -> None:
        raise CheckFailed(f"checked at once: {row['n']}")

    executor.send(INSERT, (1,))
    assert conn.execute(COUNT).fetchone()[0] == 1
    counted = "INSERT INTO t (a) VALUES (%s) RETURNING 1 AS n"
    with pytest.raises(CheckFailed, match="checked at once: 1"):
        executor.send(counted, (2,), check)
    together = executor.all_together([(COUNT, ()), ("SELECT max(a) AS m FROM t", ())])
    assert [dict(rows[0]) for rows in together] == [{"n": 2}, {"m": 2}]
    conn.close()

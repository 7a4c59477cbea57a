"""``read_ahead``: a PostgreSQL stream's next batch is fetched while the caller works.

Goal: the server produces a batch (a named cursor's FETCH) while the client checks the one
before, instead of each waiting for the other; and nothing about the stream changes: every
batch in order, an error where it happened, and a stream left early is closed (its cursor
with it) only once no fetch is in flight.

Method: ``read_ahead`` over plain generators that record what happened (which thread fetched,
when they were closed); then PostgreSQL stores are exercised by every streaming test (verify,
export) through ``Executor.stream_tuples``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator

import pytest

from zeropools.store.sql.executor import read_ahead


def _batches(log: list[str], count: int, fail_at: int | None = None) -> Generator[list[int]]:
    try:
        for n in range(count):
            if n == fail_at:
                raise ValueError(f"batch {n}")
            log.append(f"fetched {n} in {threading.current_thread().name}")
            yield [n]
    finally:
        log.append("closed")


def test_every_batch_comes_in_order_fetched_by_another_thread() -> None:
    log: list[str] = []
    assert list(read_ahead(_batches(log, 4), 1)) == [[0], [1], [2], [3]]
    assert log[-1] == "closed"
    fetches = [line for line in log if line.startswith("fetched")]
    assert len(fetches) == 4
    # the first where the caller asked for it; every later one ahead, by the thread
    assert all("zeropools-read-ahead" in line for line in fetches[1:])


def test_the_next_batch_is_fetched_while_the_caller_works_on_this_one() -> None:
    log: list[str] = []
    stream = read_ahead(_batches(log, 3), 1)
    assert next(stream) == [0]
    assert next(stream) == [1]
    deadline = time.monotonic() + 5
    while not any(line.startswith("fetched 2") for line in log):  # without asking for it
        assert time.monotonic() < deadline, log
        time.sleep(0.01)
    stream.close()


def test_a_stream_left_early_is_closed() -> None:
    log: list[str] = []
    stream = read_ahead(_batches(log, 10), 1)
    assert next(stream) == [0]
    stream.close()
    assert log[-1] == "closed"
    assert len([line for line in log if line.startswith("fetched")]) <= 2


def test_a_read_that_fits_in_one_batch_starts_no_thread() -> None:
    """A batch shorter than ``batch_rows`` is the last one (``Executor._fetch_batches``)."""
    log: list[str] = []
    before = threading.active_count()
    stream = read_ahead(_batches(log, 1), 5)
    assert next(stream) == [0]
    assert threading.active_count() == before
    assert list(stream) == [] and log[-1] == "closed"
    assert "zeropools-read-ahead" not in log[0]


def test_an_error_comes_where_it_happened() -> None:
    log: list[str] = []
    stream = read_ahead(_batches(log, 5, fail_at=2), 1)
    assert next(stream) == [0]
    assert next(stream) == [1]
    with pytest.raises(ValueError, match="batch 2"):
        next(stream)
    assert log[-1] == "closed"

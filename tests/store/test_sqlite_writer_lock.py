"""The SQLite store's writer lock: writers of several processes take turns and are woken.

Goal (issue 13): ``zeropools serve --workers N`` on SQLite. SQLite has one write lock per
database, and a writer that finds it taken waits in SQLite's busy handler, which sleeps (up to
100 ms at a time) instead of being woken when the lock frees: with two server processes that
put seconds on the tail latency. So every write transaction of ``SqliteStore`` first takes an
exclusive ``flock`` on a file beside the database (``<db>.writer-lock``), which the kernel
hands to the next waiter the moment it is released, and releases it when its transaction ends;
a holder that dies releases it with its file descriptors, so a killed process never leaves it
taken.

Method: the lock taken from outside (as another process's writer holds it) and a store write
started in a thread: it must wait, untouched database, and finish once the lock is released;
a write that fails releases the lock; a child process SIGKILLed in the middle of a write
transaction (holding the lock and SQLite's) must not stop the next write. The many-process
reliability suite runs three servers on one SQLite file through this lock.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from zeropools.store.protocol import Tx
from zeropools.store.sqlite import SqliteStore

WAITED_S = 0.5  # how long a blocked write is watched; it would have finished in milliseconds
JOIN_S = 60.0  # a write that should finish: generous for a loaded machine


def _store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(f"sqlite:///{tmp_path / 'lock.db'}")
    store.migrate()
    return store


def _marks(store: SqliteStore) -> str | None:
    return store.read(lambda tx: tx.get_setting("lock-test"))


def _mark(tx: Tx) -> None:
    # proof that this transaction committed: one more "x" in a setting
    tx.set_setting("lock-test", (tx.get_setting("lock-test") or "") + "x")


def test_a_write_waits_for_the_writer_lock_and_runs_when_it_frees(tmp_path: Path) -> None:
    store = _store(tmp_path)
    try:
        holder = os.open(store.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(holder, fcntl.LOCK_EX)  # another process's writer, in its transaction
        writer = threading.Thread(target=lambda: store.write(_mark))
        writer.start()
        writer.join(WAITED_S)
        assert writer.is_alive(), "the write did not wait for the writer lock"
        assert _marks(store) is None  # nothing written while the lock is held
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
        writer.join(JOIN_S)
        assert not writer.is_alive()
        assert _marks(store) == "x"
    finally:
        store.close()


def test_a_failed_write_releases_the_lock(tmp_path: Path) -> None:
    store = _store(tmp_path)
    try:

        def fail(tx: Tx) -> None:
            _mark(tx)
            raise RuntimeError("refused halfway")

        with pytest.raises(RuntimeError, match="refused halfway"):
            store.write(fail)
        probe = os.open(store.lock_path, os.O_RDWR)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if it was kept
        finally:
            os.close(probe)
        assert _marks(store) is None  # rolled back
        store.write(_mark)  # and the next write goes through
        assert _marks(store) == "x"
    finally:
        store.close()


_HOLDER = """
import sys, time
from zeropools.store.sqlite import SqliteStore
store = SqliteStore(sys.argv[1])

def hold(tx):
    tx.set_setting("lock-test", "held")
    print("holding", flush=True)
    time.sleep(600)

store.write(hold)
"""


def test_a_writer_killed_in_its_transaction_does_not_block_the_next(tmp_path: Path) -> None:
    store = _store(tmp_path)
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, store.url], stdout=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "holding"
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        writer = threading.Thread(target=lambda: store.write(_mark))
        writer.start()
        writer.join(JOIN_S)
        assert not writer.is_alive(), "the dead writer's lock was never released"
        # the killed transaction left nothing; the next one committed
        assert _marks(store) == "x"
    finally:
        store.close()

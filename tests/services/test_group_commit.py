"""Group commit: concurrent commands of one partner share a transaction, each with its outcome.

Goal: the ``GroupCommitStore`` applies queued commands in one commit, in order, a refusal
undoing only its own command, and a failed commit failing every command of the batch (nothing
half-done).
Method: real stores (SQLite and PostgreSQL); a first command holds the leadership until nine
more are queued behind it, so the second transaction provably carries the other nine; the store's
``write`` is wrapped to count transactions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from zeropools.domain.errors import DomainError, InsufficientBalance
from zeropools.store.group_commit import GroupCommitStore
from zeropools.store.protocol import Store, Tx

QUEUE_WAIT_S = 10.0


class CountingStore:
    """The real store, counting its write transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.url, self.dialect = store.url, store.dialect
        self.writes = 0

    def write(self, work: Callable[[Tx], Any], lane: str | None = None) -> Any:
        self.writes += 1
        return self.store.write(work)


def _setting(name: str, value: str) -> Callable[[Tx], str]:
    def work(tx: Tx) -> str:
        tx.set_setting(name, value)
        return value

    return work


def _refused(name: str) -> Callable[[Tx], str]:
    def work(tx: Tx) -> str:
        tx.set_setting(name, "written, then undone")
        raise InsufficientBalance("refused on purpose", currency="EUR")

    return work


def _queued(batcher: GroupCommitStore, key: str) -> int:
    with batcher._lock:
        return len(batcher._queues.get(key, ()))


def _leading_alone(batcher: GroupCommitStore, key: str) -> bool:
    with batcher._lock:
        return key in batcher._leading and not batcher._queues.get(key)


def test_queued_commands_share_one_commit_and_a_refusal_undoes_only_itself(
    store: Store,
) -> None:
    counting = CountingStore(store)
    batcher = GroupCommitStore(counting)  # type: ignore[arg-type]
    release = threading.Event()

    def first(tx: Tx) -> str:
        release.wait(QUEUE_WAIT_S)  # hold the leadership while the others queue up
        tx.set_setting("cmd-0", "0")
        return "0"

    commands: list[Callable[[Tx], str]] = [first]
    for i in range(1, 10):
        commands.append(_refused(f"cmd-{i}") if i == 5 else _setting(f"cmd-{i}", str(i)))
    results: dict[int, Any] = {}

    def submit(i: int) -> None:
        try:
            results[i] = batcher.write(commands[i], "partner_a")
        except DomainError as refusal:
            results[i] = refusal

    threads = [threading.Thread(target=submit, args=(0,))]
    threads[0].start()
    deadline = time.monotonic() + QUEUE_WAIT_S
    while not _leading_alone(batcher, "partner_a") and time.monotonic() < deadline:
        time.sleep(0.005)  # until the first thread leads, its command off the queue
    for i in range(1, 10):
        threads.append(threading.Thread(target=submit, args=(i,)))
        threads[-1].start()
    while _queued(batcher, "partner_a") < 9 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert _queued(batcher, "partner_a") == 9
    release.set()
    for thread in threads:
        thread.join(QUEUE_WAIT_S)

    assert counting.writes == 2  # the first alone, then the nine together
    assert isinstance(results[5], InsufficientBalance)
    assert {i: results[i] for i in results if i != 5} == {i: str(i) for i in range(10) if i != 5}
    stored = store.read(lambda tx: {i: tx.get_setting(f"cmd-{i}") for i in range(10)})
    assert stored == {i: (None if i == 5 else str(i)) for i in range(10)}


def test_a_failed_shared_commit_fails_every_command_and_writes_nothing(store: Store) -> None:
    batcher = GroupCommitStore(store)
    boom = RuntimeError("the store is gone")

    def breaks(tx: Tx) -> str:
        tx.set_setting("broken", "x")
        raise boom

    with pytest.raises(RuntimeError):
        batcher.write(breaks, "partner_b")
    assert store.read(lambda tx: tx.get_setting("broken")) is None
    # the key is free again: the next command leads and commits
    assert batcher.write(_setting("after", "ok"), "partner_b") == "ok"
    assert store.read(lambda tx: tx.get_setting("after")) == "ok"

"""Merged lanes (PostgreSQL): coroutines' work of several partners shares one transaction.

Goal: with ``merge_lanes``, the work waiting on several lanes is committed together (one
transaction, each command its own outcome), run sorted by lane with each lane's arrival order
kept; a lane with a deep queue takes only its share of a batch, so the others are not starved;
a full lane refuses while the others still queue; a thread's write on a lane still leads its own
batch; and a lock held outside (another transaction) costs the other partners of a merged batch
at most ``merged_lock_wait_ms``: the batch is undone and each lane runs on its own, so only the
blocked partner waits for the lock; likewise one lane's failure fails only that lane.

Method: real stores (SQLite and PostgreSQL; the held lock on PostgreSQL only); a first write
holds the only merged writer until the others are queued behind it (polled, bounded); the inner
store counts its transactions and the work functions record the order they ran in.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from test_group_commit_async import (
    WAIT_S,
    CountingStore,
    _holding,
    _queued,
    _refusal,
    _refused,
    _until,
)

from zeropools.bootstrap import initialize
from zeropools.domain.errors import InsufficientBalance, Overloaded
from zeropools.store.group_commit import GroupCommitStore
from zeropools.store.open import open_store
from zeropools.store.protocol import Store, Tx


def _recording(
    ran: list[tuple[int, str]], counting: CountingStore, name: str
) -> Callable[[Tx], str]:
    def work(tx: Tx) -> str:
        tx.set_setting(name, name)
        ran.append((counting.writes, name))
        return name

    return work


def _merged(counting: CountingStore, **options: Any) -> GroupCommitStore:
    return GroupCommitStore(counting, merge_lanes=True, merged_writers=1, **options)  # type: ignore[arg-type]


async def _held(batcher: GroupCommitStore, release: threading.Event) -> asyncio.Future[Any]:
    """The only merged writer busy with a holder until ``release``."""
    return await _holding(batcher, release, "h", "h")


def test_lanes_waiting_together_share_one_commit_sorted_by_lane_in_arrival_order(
    store: Store,
) -> None:
    counting = CountingStore(store)
    batcher = _merged(counting)
    ran: list[tuple[int, str]] = []
    release = threading.Event()
    order = [("b", "b1"), ("c", "c1"), ("b", "b2"), ("a", "a1"), ("c", "refused"), ("b", "b3")]

    async def scenario() -> list[Any]:
        first = await _held(batcher, release)
        rest = []
        for lane, name in order:
            work = _refused if name == "refused" else _recording(ran, counting, name)
            rest.append(asyncio.ensure_future(batcher.write_async(work, lane)))
        await _until(lambda: sum(_queued(batcher, lane) for lane in "abc") == len(order))
        release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    outcomes = asyncio.run(scenario())

    assert counting.writes == 2  # the holder alone, then three partners' work together
    assert [name for _, name in ran] == ["a1", "b1", "b2", "b3", "c1"]
    assert {write for write, _ in ran} == {2}
    assert isinstance(outcomes[5], InsufficientBalance)  # undone alone
    assert [o for i, o in enumerate(outcomes) if i != 5] == ["held", "b1", "c1", "b2", "a1", "b3"]
    assert store.read(lambda tx: tx.get_setting("refused")) is None
    assert store.read(lambda tx: tx.get_setting("a1")) == "a1"


def test_a_deep_lane_takes_its_share_and_the_others_are_not_starved(store: Store) -> None:
    counting = CountingStore(store)
    batcher = _merged(counting, batch_commands_max=4)
    ran: list[tuple[int, str]] = []
    release = threading.Event()
    deep = [f"a{i}" for i in range(6)]

    async def scenario() -> None:
        first = await _held(batcher, release)
        rest = [
            asyncio.ensure_future(batcher.write_async(_recording(ran, counting, n), "a"))
            for n in deep
        ]
        rest += [
            asyncio.ensure_future(batcher.write_async(_recording(ran, counting, n), n[0]))
            for n in ("b1", "c1")
        ]
        await _until(lambda: _queued(batcher, "c") == 1)
        release.set()
        await asyncio.gather(first, *rest)

    asyncio.run(scenario())

    batches: dict[int, list[str]] = {}
    for write, name in ran:
        batches.setdefault(write, []).append(name)
    # three lanes waiting, four commands a batch: "a" gets two, b and c one each; a's other
    # four follow in the next batch (its order kept throughout)
    assert list(batches.values()) == [["a0", "a1", "b1", "c1"], ["a2", "a3", "a4", "a5"]]


def test_a_full_lane_refuses_while_other_lanes_still_queue(store: Store) -> None:
    counting = CountingStore(store)
    batcher = _merged(counting, queue_max=1)
    release = threading.Event()

    async def scenario() -> tuple[BaseException | None, list[Any]]:
        first = await _held(batcher, release)
        queued = asyncio.ensure_future(batcher.write_async(_recording([], counting, "a1"), "a"))
        await _until(lambda: _queued(batcher, "a") == 1)
        refused = await _refusal(batcher, _recording([], counting, "a2"), "a")
        other = asyncio.ensure_future(batcher.write_async(_recording([], counting, "b1"), "b"))
        await _until(lambda: _queued(batcher, "b") == 1)
        release.set()
        return refused, list(await asyncio.gather(first, queued, other))

    refused, outcomes = asyncio.run(scenario())
    assert isinstance(refused, Overloaded)
    assert outcomes == ["held", "a1", "b1"]
    assert store.read(lambda tx: tx.get_setting("a2")) is None


def test_a_threads_write_on_a_merged_lane_leads_its_own_batch(store: Store) -> None:
    counting = CountingStore(store)
    batcher = _merged(counting)
    ran: list[tuple[int, str]] = []
    release = threading.Event()
    from_thread: list[str] = []

    async def scenario() -> list[Any]:
        first = await _held(batcher, release)
        a1 = asyncio.ensure_future(batcher.write_async(_recording(ran, counting, "a1"), "a"))
        await _until(lambda: _queued(batcher, "a") == 1)
        thread = threading.Thread(
            target=lambda: from_thread.append(batcher.write(_recording(ran, counting, "a2"), "a"))
        )
        thread.start()
        await _until(lambda: _queued(batcher, "a") == 2)
        a3 = asyncio.ensure_future(batcher.write_async(_recording(ran, counting, "a3"), "a"))
        await _until(lambda: _queued(batcher, "a") == 3)
        release.set()
        outcomes = await asyncio.gather(first, a1, a3)
        await asyncio.to_thread(thread.join, WAIT_S)
        return list(outcomes)

    assert asyncio.run(scenario()) == ["held", "a1", "a3"]
    assert from_thread == ["a2"]
    # the merged batch stops at the thread's write; the thread leads a2 and what follows it
    assert [name for _, name in ran] == ["a1", "a2", "a3"]
    assert [write for write, _ in ran] == [2, 3, 3]


def test_one_lanes_failure_in_a_merged_batch_fails_only_that_lane(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    counting = CountingStore(store)
    batcher = _merged(counting)
    release = threading.Event()
    runs: list[str] = []

    def broken(tx: Tx) -> str:
        runs.append("z")
        tx.set_setting("z-row", "never kept")
        raise RuntimeError("a bug in one partner's command")

    def counted(tx: Tx) -> str:
        runs.append("b")
        count = str(int(tx.get_setting("b-row") or 0) + 1)
        tx.set_setting("b-row", count)
        return count

    async def scenario() -> list[Any]:
        first = await _held(batcher, release)
        z = asyncio.ensure_future(batcher.write_async(broken, "z"))
        b = asyncio.ensure_future(batcher.write_async(counted, "b"))
        await _until(lambda: _queued(batcher, "b") == 1 and _queued(batcher, "z") == 1)
        release.set()
        return await asyncio.gather(first, b, z, return_exceptions=True)

    held, b_value, z_failure = asyncio.run(scenario())

    assert (held, b_value) == ("held", "1")  # b's first run was undone with the batch
    assert isinstance(z_failure, RuntimeError)
    assert sorted(runs) == ["b", "b", "z", "z"]
    assert counting.writes == 4  # holder, the merged batch, each lane alone
    assert store.read(lambda tx: tx.get_setting("z-row")) is None
    assert "2 partner lanes failed (RuntimeError(" in caplog.text


def test_a_lock_held_outside_delays_other_partners_at_most_the_bound(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(pg_url)
    try:
        initialize(store, "test")
        store.write(lambda tx: tx.set_setting("a-row", "before"))
        counting = CountingStore(store)
        batcher = _merged(counting, merged_lock_wait_ms=100)
        runs: list[str] = []
        release = threading.Event()

        def blocked(tx: Tx) -> str:
            runs.append("a-row")
            tx.set_setting("a-row", "after")  # waits for the holder's row lock
            return "after"

        def counted(tx: Tx) -> str:
            runs.append("b-row")
            count = str(int(tx.get_setting("b-row") or 0) + 1)
            tx.set_setting("b-row", count)
            return count

        with psycopg.connect(pg_url) as holder:
            holder.execute("SELECT 1 FROM settings WHERE key = 'a-row' FOR UPDATE")

            async def scenario() -> tuple[bool, str, str]:
                first = await _held(batcher, release)
                # lane "z" runs after "b" in the merged batch: b's first run is undone with it
                a = asyncio.ensure_future(batcher.write_async(blocked, "z"))
                b = asyncio.ensure_future(batcher.write_async(counted, "b"))
                await _until(lambda: _queued(batcher, "b") == 1 and _queued(batcher, "z") == 1)
                release.set()
                await first
                # b is answered while a's lock is still held: the merged batch gave up its
                # wait and b ran on its own
                b_value = await asyncio.wait_for(b, WAIT_S)
                a_waiting = not a.done()
                holder.rollback()
                return a_waiting, b_value, await asyncio.wait_for(a, WAIT_S)

            a_waiting, b_value, a_value = asyncio.run(scenario())

        assert a_waiting and (a_value, b_value) == ("after", "1")
        # each ran in the merged batch that was undone, then once more on its own
        assert sorted(runs) == ["a-row", "a-row", "b-row", "b-row"]
        assert counting.writes == 4  # holder, the merged batch, b alone, a alone
        assert store.read(lambda tx: tx.get_setting("a-row")) == "after"
        assert store.read(lambda tx: tx.get_setting("b-row")) == "1"  # counted once
        # the operator is told a partner's balance was held this long
        assert "2 partner lanes waited 100 ms for a lock held elsewhere" in caplog.text
    finally:
        store.close()

"""Group commit under random interleavings: nothing lost, nothing doubled, order kept.

Goal: whatever mix of lanes, coroutines and threads, refusals, failing commands and batches
that run out of lock wait, every write gets exactly one outcome; what committed holds each
write that succeeded exactly once and none that did not; each lane's writes committed in the
order they were handed over; and no lane's work ran in two transactions at once. For both
modes PostgreSQL and SQLite use: merged lanes, and a single writer.

Method: hypothesis draws the writes (lane, kind, coroutine or thread, a pause before
submitting) and which transactions give up a lock wait; an in-memory store runs them, with
savepoints that undo a refused write's effect, and checks the "one transaction per lane at a
time" rule as each write runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zeropools.domain.errors import InsufficientBalance
from zeropools.store.group_commit import GroupCommitStore
from zeropools.store.protocol import LockWaitExceeded

KINDS = ("ok", "ok", "ok", "refused", "boom")


class _Tx:
    def __init__(self, store: _ModelStore, number: int) -> None:
        self.store, self.number = store, number
        self.effects: list[str] = []
        self.lanes: set[str] = set()
        self.bounded = False

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        mark = len(self.effects)
        try:
            yield
        except BaseException:
            del self.effects[mark:]
            raise

    def limit_lock_waits(self, milliseconds: int) -> None:
        self.bounded = True

    def run(self, lane: str, name: str) -> None:
        with self.store.lock:
            holder = self.store.active.get(lane)
            assert holder in (None, self.number), f"lane {lane} in two transactions at once"
            self.store.active[lane] = self.number
        self.lanes.add(lane)
        self.effects.append(name)


@dataclass
class _ModelStore:
    give_up: list[bool]  # per transaction, in order: a bounded one runs out of lock wait
    url: str = "model://"
    dialect: str = "postgres"
    lock: threading.Lock = field(default_factory=threading.Lock)
    active: dict[str, int] = field(default_factory=dict)
    committed: list[str] = field(default_factory=list)
    transactions: int = 0

    def close(self) -> None:
        pass

    def write(self, work: Callable[[Any], Any], lane: str | None = None) -> Any:
        with self.lock:
            self.transactions += 1
            number = self.transactions
        tx = _Tx(self, number)
        try:
            result = work(tx)
            gives_up = tx.bounded and self.give_up[(number - 1) % len(self.give_up)]
            if gives_up:
                raise LockWaitExceeded("canceling statement due to lock timeout")
            with self.lock:
                self.committed += tx.effects
            return result
        finally:
            with self.lock:
                for lane in tx.lanes:
                    del self.active[lane]


@dataclass(frozen=True)
class _Write:
    lane: str
    kind: str
    threaded: bool
    pause: int  # event-loop turns before it is handed over


writes = st.lists(
    st.builds(
        _Write,
        lane=st.sampled_from("abcd"),
        kind=st.sampled_from(KINDS),
        threaded=st.sampled_from([False, False, False, True]),
        pause=st.integers(0, 3),
    ),
    min_size=1,
    max_size=40,
)


def _work(write: _Write, name: str) -> Callable[[Any], str]:
    def work(tx: _Tx) -> str:
        tx.run(write.lane, name)
        if write.kind == "refused":
            raise InsufficientBalance("refused on purpose", currency="EUR")
        if write.kind == "boom":
            raise RuntimeError(f"{name} failed")
        return name

    return work


async def _submit(batcher: GroupCommitStore, write: _Write, name: str, handed: list[str]) -> Any:
    for _ in range(write.pause):
        await asyncio.sleep(0)
    try:
        if write.threaded:
            return await asyncio.to_thread(batcher.write, _work(write, name), write.lane)
        handed.append(name)  # write_async queues it before it first yields
        return await batcher.write_async(_work(write, name), write.lane)
    except (InsufficientBalance, RuntimeError) as outcome:
        return outcome


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    drawn=writes,
    give_up=st.lists(st.booleans(), min_size=1, max_size=8),
    merged=st.booleans(),
    batch_max=st.integers(1, 8),
)
def test_every_write_commits_once_in_its_lanes_order_or_not_at_all(
    drawn: list[_Write], give_up: list[bool], merged: bool, batch_max: int
) -> None:
    inner = _ModelStore(give_up=[g and merged for g in give_up])
    batcher = GroupCommitStore(
        inner,  # type: ignore[arg-type]
        batch_commands_max=batch_max,
        merge_lanes=merged,
        single_writer=not merged,
        merged_lock_wait_ms=1,
    )
    names = [f"w{i}" for i in range(len(drawn))]
    handed: list[str] = []

    async def scenario() -> list[Any]:
        return await asyncio.gather(
            *(_submit(batcher, w, n, handed) for w, n in zip(drawn, names, strict=True))
        )

    try:
        outcomes = asyncio.run(scenario())
    finally:
        batcher.close()

    lane_of = {n: w.lane for w, n in zip(drawn, names, strict=True)}
    for write, name, outcome in zip(drawn, names, outcomes, strict=True):
        if isinstance(outcome, RuntimeError):
            # a failing write fails the batch it ran in; merged, a batch of one lane only
            culprit = str(outcome).removesuffix(" failed")
            assert drawn[names.index(culprit)].kind == "boom"
            assert not merged or lane_of[culprit] == write.lane, (name, outcome)
        elif write.kind == "ok":
            assert outcome == name
        else:
            assert write.kind == "refused" and isinstance(outcome, InsufficientBalance)
    # every queued write was taken: the per-lane counts the queue bound reads are back to 0
    assert all(count == 0 for count in batcher._queued_of.values()), batcher._queued_of
    # answered with success <=> committed, exactly once
    succeeded = [n for n, o in zip(names, outcomes, strict=True) if o == n]
    assert sorted(inner.committed) == sorted(succeeded)
    assert all(drawn[names.index(n)].kind == "ok" for n in succeeded)
    # each lane's coroutine writes committed in the order they were handed over
    for lane in "abcd":
        order = [n for n in handed if lane_of[n] == lane]
        committed = [n for n in inner.committed if n in order]
        assert committed == [n for n in order if n in committed]

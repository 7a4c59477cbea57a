"""Group commit fed by coroutines (the API's hot path), the single writer, and overload.

Goal: work handed over with ``write_async`` is run by a writer thread, in batches that share a
commit, each with its own outcome; a full lane refuses at once with ``Overloaded`` (and over
HTTP a quote is answered 503 ``overloaded`` with ``Retry-After``, nothing stored); with
``single_writer`` (SQLite) every write of the process, laned or not, queues on one lane, and a
write without a lane still commits alone.

Method: real stores (SQLite and PostgreSQL); a first write holds the lane until the others are
queued behind it (polled, bounded), the inner store counts its transactions.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from support import app_client, assert_problem, bearer, fund, onboard
from zeropools.domain.errors import DomainError, InsufficientBalance, Overloaded
from zeropools.services.context import Deployment
from zeropools.store.group_commit import GroupCommitStore
from zeropools.store.protocol import Store, Tx

WAIT_S = 10.0


class CountingStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.url, self.dialect = store.url, store.dialect
        self.writes = 0

    def write(self, work: Callable[[Tx], Any], lane: str | None = None) -> Any:
        self.writes += 1
        return self.store.write(work)


def _setting(name: str) -> Callable[[Tx], str]:
    def work(tx: Tx) -> str:
        tx.set_setting(name, name)
        return name

    return work


def _refused(tx: Tx) -> str:
    tx.set_setting("refused", "written, then undone")
    raise InsufficientBalance("refused on purpose", currency="EUR")


def _queued(batcher: GroupCommitStore, lane: str) -> int:
    with batcher._lock:
        return len(batcher._queues.get(lane, ()))


def _holder(release: threading.Event) -> Callable[[Tx], str]:
    def hold(tx: Tx) -> str:
        release.wait(WAIT_S)
        tx.set_setting("held", "held")
        return "held"

    return hold


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def _holding(
    batcher: GroupCommitStore, release: threading.Event, lane: str, key: str
) -> asyncio.Future[Any]:
    """A first write on ``lane`` running (its queue ``key`` led and empty) until ``release``."""
    first = asyncio.ensure_future(batcher.write_async(_holder(release), lane))
    await _until(lambda: key in batcher._leading and _queued(batcher, key) == 0)
    return first


async def _refusal(batcher: GroupCommitStore, work: Callable[[Tx], Any], lane: str) -> Any:
    """What ``write_async`` refused ``work`` with (``Overloaded``), or None if it ran."""
    try:
        await batcher.write_async(work, lane)
    except Overloaded as exc:
        return exc
    return None


def test_coroutines_queued_behind_a_batch_share_the_next_commit(store: Store) -> None:
    counting = CountingStore(store)
    batcher = GroupCommitStore(counting)  # type: ignore[arg-type]
    release = threading.Event()

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(batcher.write_async(_holder(release), "p"))
        await _until(lambda: "p" in batcher._leading and _queued(batcher, "p") == 0)
        works = [_refused if i == 4 else _setting(f"c{i}") for i in range(8)]
        rest = [asyncio.ensure_future(batcher.write_async(w, "p")) for w in works]
        await _until(lambda: _queued(batcher, "p") == 8)
        release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    outcomes = asyncio.run(scenario())

    assert counting.writes == 2  # the holder alone, then the eight together
    assert isinstance(outcomes[5], InsufficientBalance)
    assert [o for i, o in enumerate(outcomes) if i != 5] == ["held"] + [
        f"c{i}" for i in range(8) if i != 4
    ]
    assert store.read(lambda tx: tx.get_setting("refused")) is None
    assert store.read(lambda tx: tx.get_setting("c7")) == "c7"


def test_a_full_lane_refuses_a_coroutine_at_once(store: Store) -> None:
    batcher = GroupCommitStore(store, queue_max=1)
    release = threading.Event()

    async def scenario() -> tuple[BaseException | None, str]:
        first = await _holding(batcher, release, "p", "p")
        queued = asyncio.ensure_future(batcher.write_async(_setting("queued"), "p"))
        await _until(lambda: _queued(batcher, "p") == 1)
        refused = await _refusal(batcher, _setting("refused"), "p")
        release.set()
        await asyncio.gather(first, queued)
        return refused, await batcher.write_async(_setting("after"), "p")

    refused, after = asyncio.run(scenario())
    assert isinstance(refused, Overloaded) and refused.retry_after_s >= 1
    assert after == "after"  # capacity is back once the queue drained
    assert store.read(lambda tx: tx.get_setting("refused")) is None
    assert store.read(lambda tx: tx.get_setting("queued")) == "queued"


def test_on_a_single_writer_a_full_partner_is_refused_and_the_others_still_queue(
    store: Store,
) -> None:
    """SQLite's single writer shares one queue between partners, but the bound is each
    partner's: one partner's flood is refused, another partner's write still waits its turn."""
    batcher = GroupCommitStore(store, queue_max=1, single_writer=True)
    release = threading.Event()

    async def scenario() -> tuple[BaseException | None, list[str]]:
        first = await _holding(batcher, release, "p", "*")
        queued = asyncio.ensure_future(batcher.write_async(_setting("p1"), "p"))
        await _until(lambda: _queued(batcher, "*") == 1)
        refused = await _refusal(batcher, _setting("p2"), "p")
        other = asyncio.ensure_future(batcher.write_async(_setting("q1"), "q"))
        await _until(lambda: _queued(batcher, "*") == 2)
        release.set()
        done = await asyncio.gather(first, queued, other)
        # taken into a batch, a partner's writes no longer count against it
        return refused, [*done, await batcher.write_async(_setting("p3"), "p")]

    refused, outcomes = asyncio.run(scenario())
    assert isinstance(refused, Overloaded)
    assert outcomes == ["held", "p1", "q1", "p3"]
    assert store.read(lambda tx: tx.get_setting("p2")) is None


def test_a_single_writer_queues_every_write_on_one_lane_and_unlaned_ones_commit_alone(
    store: Store,
) -> None:
    counting = CountingStore(store)
    batcher = GroupCommitStore(counting, single_writer=True)  # type: ignore[arg-type]
    release = threading.Event()
    results: dict[str, Any] = {}

    def submit(name: str, lane: str | None, work: Callable[[Tx], Any]) -> None:
        try:
            results[name] = batcher.write(work, lane)
        except DomainError as refusal:
            results[name] = refusal

    holder = threading.Thread(target=submit, args=("held", "partner_a", _holder(release)))
    holder.start()
    deadline = time.monotonic() + WAIT_S
    while not ("*" in batcher._leading and _queued(batcher, "*") == 0):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    others = [
        threading.Thread(target=submit, args=("b1", "partner_b", _setting("b1"))),
        threading.Thread(target=submit, args=("b2", "partner_c", _setting("b2"))),
        threading.Thread(target=submit, args=("solo", None, _setting("solo"))),
        threading.Thread(target=submit, args=("b3", "partner_b", _setting("b3"))),
    ]
    for thread in others:
        thread.start()
        while _queued(batcher, "*") < others.index(thread) + 1:  # in this order
            assert time.monotonic() < deadline
            time.sleep(0.005)
    assert batcher._queues.keys() == {"*"}  # other partners wait on the same (only) lane
    release.set()
    for thread in [holder, *others]:
        thread.join(WAIT_S)

    # the holder; b1 and b2 together; the unlaned write alone; b3
    assert counting.writes == 4
    assert results == {"held": "held", "b1": "b1", "b2": "b2", "solo": "solo", "b3": "b3"}


def test_a_quote_on_a_full_lane_is_503_overloaded_and_stores_nothing(dep: Deployment) -> None:
    new = onboard(dep)
    fund(dep, new.partner.id, "100.00")
    server_key = next(k.secret for k in new.keys if k.key.role == "partner_server")
    full = replace(dep, store=GroupCommitStore(dep.store, queue_max=0, single_writer=True))
    body = {"pool_id": "EUR-USDT", "source_amount": "10.00", "partner_order_id": "o-503"}

    with app_client(full) as client:
        refused = client.post("/v1/quotes", json=body, headers=bearer(server_key))
    assert_problem(refused, 503, "overloaded")
    assert refused.headers["Retry-After"] == "1"
    with app_client(dep) as client:
        listed = client.get("/v1/trades", headers=bearer(server_key))
        accepted = client.post("/v1/quotes", json=body, headers=bearer(server_key))
    assert listed.status_code == 200
    assert accepted.status_code == 201, accepted.text
    found = dep.store.read(lambda tx: tx.get_quote(accepted.json()["id"]))
    assert found is not None
    assert dep.store.read(lambda tx: tx.quotes_of_request(refused.json()["request_id"])) == []


@pytest.mark.parametrize("lane", ["p", None])
def test_write_async_answers_on_the_callers_loop(store: Store, lane: str | None) -> None:
    batcher = GroupCommitStore(store)
    assert asyncio.run(batcher.write_async(_setting("x"), lane)) == "x"
    assert store.read(lambda tx: tx.get_setting("x")) == "x"

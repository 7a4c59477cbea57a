"""Concurrent executions never overdraw a balance, and partners never wait on each other.

Goal: DESIGN.md "Concurrency": all balance changes of one partner are serialized by the
database, so the issue's figure holds exactly: a partner funded 1000.00 EUR, 60 concurrent
executions of 30.00 each -> exactly 33 succeed, 27 are refused with ``insufficient_balance``,
10.00 stays available, the ledger verifies and its sequence is gap-free. It must hold for threads
of one process and for several OS processes against one database, on SQLite and PostgreSQL.
Different partners must both make progress; on PostgreSQL a transaction holding partner A's
ledger lock must not stop partner B's executions. Racing retries of one Idempotency-Key execute
once, and one quote raced under many keys becomes one trade.

Method: quotes are created first (they move no money), then executed through
``services.trading.execute_trade`` as the partner's server key: from 12 threads released together
by a barrier, or from two ``trading_worker.py`` processes started first and released together on
stdin. Counts, balances, the entries' sequences and ``services.verify.verify`` are checked after.
The lock check holds ``SELECT ... FOR UPDATE`` on A's partner row in a psycopg transaction and
asserts B's execution finishes (a behaviour check with a generous join timeout, not a timing
threshold), while A's own execution waits until the lock is released.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from support import balance_minor, entries_of, fund, new_partner_id, quote, server_ctx
from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain.errors import IdempotencyKeyInUse, InsufficientBalance
from zeropools.services import dispatch, idempotency, trading
from zeropools.services.commands import ExecuteTrade
from zeropools.services.context import Deployment
from zeropools.services.verify import verify
from zeropools.store.open import open_store

FUNDED = "1000.00"
EACH = "30.00"
EXECUTIONS = 60
THREADS = 12
SUCCEEDING = 33  # 33 x 30.00 = 990.00 <= 1000.00 < 34 x 30.00
LEFT_MINOR = 10_00
WORKER = Path(__file__).with_name("trading_worker.py")
JOIN_TIMEOUT_S = 30  # generous: only a hang (a cross-partner wait) can reach it


def _execute(dep: Deployment, partner_id: str, quote_id: str) -> str | None:
    """The new trade's id, or None when refused for insufficient balance."""
    try:
        view = trading.execute_trade(
            dep, server_ctx(partner_id), quote_id=quote_id, partner_order_id=f"order-{quote_id}"
        )
    except InsufficientBalance:
        return None
    return view.trade.id


def _run_together(jobs: Sequence[Callable[[], Any]], threads: int) -> list[Any]:
    """Run ``jobs`` from ``threads`` threads released at once; results in job order."""
    barrier = threading.Barrier(threads)
    shares = [list(range(i, len(jobs), threads)) for i in range(threads)]

    def worker(indexes: list[int]) -> list[tuple[int, Any]]:
        barrier.wait()
        return [(i, jobs[i]()) for i in indexes]

    results: list[Any] = [None] * len(jobs)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for share in pool.map(worker, shares):
            for i, value in share:
                results[i] = value
    return results


def _assert_the_issues_figure(
    dep: Deployment, partner_id: str, trade_ids: Sequence[str], refused: int, model: str
) -> None:
    assert (len(trade_ids), refused) == (SUCCEEDING, EXECUTIONS - SUCCEEDING)
    assert len(set(trade_ids)) == SUCCEEDING
    available, reserved = balance_minor(dep, partner_id)
    assert available == LEFT_MINOR
    assert reserved == (SUCCEEDING * 30_00 if model == "reserve" else 0)
    entries = entries_of(dep, partner_id)
    assert [e.sequence for e in entries] == list(range(1, SUCCEEDING + 2))
    opening = "buy_debit" if model == "debit" else "trade_reserve"
    assert [e.type for e in entries] == ["payin_credit"] + [opening] * SUCCEEDING
    assert sorted(e.links.trade_id or "" for e in entries[1:]) == sorted(trade_ids)
    assert min(e.available_after_minor for e in entries) == LEFT_MINOR
    report = verify(dep.store)
    assert report.ok, report.problems


@pytest.mark.parametrize("model", ["debit", "reserve"])
def test_sixty_threads_spending_thirty_of_a_thousand_leave_exactly_ten(
    dep: Deployment, model: str
) -> None:
    partner_id = new_partner_id(dep, model)
    fund(dep, partner_id, FUNDED)
    quote_ids = [quote(dep, partner_id, EACH) for _ in range(EXECUTIONS)]

    outcomes = _run_together([lambda q=q: _execute(dep, partner_id, q) for q in quote_ids], THREADS)

    trade_ids = [t for t in outcomes if t is not None]
    _assert_the_issues_figure(dep, partner_id, trade_ids, outcomes.count(None), model)
    # a refused execution leaves its quote unused
    statuses = [trading.get_quote(dep, server_ctx(partner_id), q).status for q in quote_ids]
    assert statuses.count("used") == SUCCEEDING
    assert statuses.count("open") == EXECUTIONS - SUCCEEDING


def _start_worker(job: dict[str, Any]) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, str(WORKER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdin is not None
    worker.stdin.write(json.dumps(job) + "\n")
    worker.stdin.flush()
    return worker


def test_two_processes_sharing_the_sixty_executions_leave_exactly_ten(
    dep: Deployment, db_url: str
) -> None:
    partner_id = new_partner_id(dep, "debit")
    fund(dep, partner_id, FUNDED)
    quote_ids = [quote(dep, partner_id, EACH) for _ in range(EXECUTIONS)]
    shares = [quote_ids[0::2], quote_ids[1::2]]

    workers = [
        _start_worker(
            {"db_url": db_url, "partner_id": partner_id, "quote_ids": share, "threads": 6}
        )
        for share in shares
    ]
    try:
        for worker in workers:  # every process is up before any executes
            assert worker.stdout is not None
            assert json.loads(worker.stdout.readline()) == {"ready": True}
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        reports = []
        for worker in workers:
            out, _ = worker.communicate(timeout=120)
            assert worker.returncode == 0, out
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()

    assert [r["errors"] for r in reports] == [[], []]
    trade_ids = [t for r in reports for t in r["trade_ids"]]
    refused = sum(r["insufficient"] for r in reports)
    _assert_the_issues_figure(dep, partner_id, trade_ids, refused, "debit")
    # each process holds 30 quotes, at most 30 of the 33 successes: both made progress
    assert all(len(r["trade_ids"]) >= SUCCEEDING - len(shares[0]) for r in reports)


def test_two_partners_executing_concurrently_each_spend_exactly_their_own_balance(
    dep: Deployment,
) -> None:
    first, second = (
        new_partner_id(dep, "debit", name="First"),
        new_partner_id(dep, "reserve", name="Second"),
    )
    fund(dep, first, "1000.00")
    fund(dep, second, "500.00")
    jobs = [(first, quote(dep, first, EACH)) for _ in range(40)]
    jobs += [(second, quote(dep, second, EACH)) for _ in range(20)]
    jobs = jobs[::2] + jobs[1::2]  # interleave the two partners' executions

    outcomes = _run_together([lambda p=p, q=q: (p, _execute(dep, p, q)) for p, q in jobs], THREADS)

    done = {
        p: [t for owner, t in outcomes if owner == p and t is not None] for p in (first, second)
    }
    assert (len(done[first]), len(done[second])) == (33, 16)
    assert balance_minor(dep, first) == (10_00, 0)
    assert balance_minor(dep, second) == (20_00, 480_00)
    report = verify(dep.store)
    assert report.ok, report.problems


class _InThread:
    """Run ``work`` in a thread; keep its result or its exception."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self.thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self.result = work()
        except BaseException as exc:
            self.error = exc

    def finished_within(self, seconds: float) -> bool:
        self.thread.join(timeout=seconds)
        return not self.thread.is_alive()


@contextmanager
def _locked_and_free(pg_url: str) -> Iterator[tuple[Deployment, str, str, dict[str, str]]]:
    """A deployment on ``pg_url`` with two funded partners, ``locked`` and ``free``, and a
    quote of each (partner id -> quote id); the store is closed after."""
    store = open_store(pg_url)
    initialize(store, "test")
    dep = deployment(Settings(db_url=pg_url), store)
    try:
        locked, free = new_partner_id(dep, name="Locked"), new_partner_id(dep, name="Free")
        for partner_id in (locked, free):
            fund(dep, partner_id, "100.00")
        # quotes first: inserting one takes a key-share lock on its partner's row
        yield dep, locked, free, {p: quote(dep, p, EACH) for p in (locked, free)}
    finally:
        dep.store.close()


def test_a_held_ledger_lock_of_one_partner_never_blocks_another_partner(pg_url: str) -> None:
    with _locked_and_free(pg_url) as (dep, locked, free, quotes):
        locked_quote, free_quote = quotes[locked], quotes[free]
        with psycopg.connect(pg_url) as holder:
            holder.execute("SELECT id FROM partners WHERE id = %s FOR UPDATE", (locked,))
            other = _InThread(lambda: _execute(dep, free, free_quote))
            assert other.finished_within(JOIN_TIMEOUT_S), "B waited for A's ledger lock"
            assert other.error is None and other.result is not None, other.error
            same = _InThread(lambda: _execute(dep, locked, locked_quote))
            # A's own execution is serialized behind the lock (it has not run yet)...
            assert not same.finished_within(0.5), "A's execution ignored A's ledger lock"
            assert balance_minor(dep, locked) == (100_00, 0)
            holder.rollback()
        # ...and completes once the lock is gone
        assert same.finished_within(JOIN_TIMEOUT_S)
        assert same.error is None and same.result is not None, same.error
        assert balance_minor(dep, locked) == (70_00, 0)
        assert balance_minor(dep, free) == (70_00, 0)
        assert verify(dep.store).ok


def test_on_the_apis_path_a_held_ledger_lock_of_one_partner_never_blocks_another(
    pg_url: str,
) -> None:
    """The coroutine path (``POST /v1/trades``): both executions are handed to the writer at
    once, so they may share a merged batch (several partners, one transaction); that batch
    gives up waiting for A's lock and each partner runs on its own, so B is answered while
    A's execution still waits."""
    with _locked_and_free(pg_url) as (dep, locked, free, quotes):

        async def execute(partner_id: str) -> idempotency.StoredResponse:
            body = {"quote_id": quotes[partner_id], "partner_order_id": "order-1"}
            return await dispatch.apply_idempotent_async(
                dep,
                server_ctx(partner_id),
                ExecuteTrade(quotes[partner_id], "order-1"),
                key=f"key-{partner_id}",
                request_print=idempotency.fingerprint("POST", "/v1/trades", body),
            )

        with psycopg.connect(pg_url) as holder:
            holder.execute("SELECT id FROM partners WHERE id = %s FOR UPDATE", (locked,))

            async def scenario() -> tuple[bool, int, int]:
                same = asyncio.ensure_future(execute(locked))
                other = await asyncio.wait_for(execute(free), JOIN_TIMEOUT_S)
                waiting = not same.done()
                holder.rollback()
                return waiting, other.status, (await asyncio.wait_for(same, JOIN_TIMEOUT_S)).status

            waiting, other_status, same_status = asyncio.run(scenario())

        assert waiting, "A's execution ignored A's ledger lock"
        assert (other_status, same_status) == (201, 201)
        assert balance_minor(dep, locked) == (70_00, 0)
        assert balance_minor(dep, free) == (70_00, 0)
        assert verify(dep.store).ok


def _execute_with_key(
    dep: Deployment, partner_id: str, quote_id: str, key: str
) -> idempotency.StoredResponse | str:
    """What ``POST /v1/trades`` does with an Idempotency-Key, minus HTTP."""
    ctx = server_ctx(partner_id)
    body = {"quote_id": quote_id, "partner_order_id": "order-1", "destination": None}
    try:
        return dispatch.apply_idempotent(
            dep,
            ctx,
            ExecuteTrade(quote_id, "order-1"),
            key=key,
            request_print=idempotency.fingerprint("POST", "/v1/trades", body),
        )
    except IdempotencyKeyInUse:
        return "in_use"


def test_concurrent_retries_of_one_idempotency_key_execute_once(dep: Deployment) -> None:
    partner_id = new_partner_id(dep)
    fund(dep, partner_id, FUNDED)
    quote_id = quote(dep, partner_id, EACH)

    outcomes = _run_together(
        [lambda: _execute_with_key(dep, partner_id, quote_id, "retry-me")] * THREADS, THREADS
    )

    stored = [o for o in outcomes if not isinstance(o, str)]
    first = [o for o in stored if not o.replayed]
    assert len(first) == 1 and first[0].status == 201, outcomes
    # every other attempt either replays the first response exactly or is told to retry
    for other in stored:
        assert (other.status, other.body, other.request_id) == (
            201,
            first[0].body,
            first[0].request_id,
        )
    assert all(o == "in_use" for o in outcomes if isinstance(o, str))
    assert [e.type for e in entries_of(dep, partner_id)] == ["payin_credit", "buy_debit"]
    assert balance_minor(dep, partner_id) == (970_00, 0)
    assert verify(dep.store).ok


def test_one_quote_executed_concurrently_under_many_keys_trades_once(dep: Deployment) -> None:
    partner_id = new_partner_id(dep, "reserve")
    fund(dep, partner_id, FUNDED)
    quote_id = quote(dep, partner_id, EACH)

    outcomes = _run_together(
        [
            lambda i=i: _execute_with_key(dep, partner_id, quote_id, f"key-{i}")
            for i in range(THREADS)
        ],
        THREADS,
    )

    assert all(not isinstance(o, str) and not o.replayed for o in outcomes), outcomes
    answers = sorted((o.status, o.body) for o in outcomes if not isinstance(o, str))
    assert [status for status, _ in answers] == [201] + [409] * (THREADS - 1)
    codes = {json.loads(body)["code"] for status, body in answers if status == 409}
    assert codes == {"quote_already_used"}
    assert [e.type for e in entries_of(dep, partner_id)] == ["payin_credit", "trade_reserve"]
    assert balance_minor(dep, partner_id) == (970_00, 30_00)
    assert verify(dep.store).ok

"""Group commit in the application: concurrent writes for one partner share a transaction.

DESIGN.md "Concurrency and speed": the ceiling of one transaction per request is the commit
itself (an fsync on SQLite, a WAL flush on PostgreSQL). ``GroupCommitStore`` wraps a store;
a write names its *lane* — the partner whose balance it touches, whoever asks (a partner's
execution, an operator's settle, a credit) — and concurrent writes of one lane are applied in
arrival order, in one transaction, each in its own savepoint with its own outcome (a refusal
undoes only that command). Durability is unchanged: nobody gets an answer before the shared
commit. A write without a lane is a plain transaction of its own.

Two ways in, one queue per lane:

- ``write`` (threads): the first thread to arrive leads — it runs the batch at the head of the
  queue — and the others sleep until the leader hands them their result, or the lead.
- ``write_async`` (the API's event loop): the request hands its work to the lane and awaits a
  future; no request thread is taken. A lane fed by the event loop is driven by one of a few
  *writer threads*, which run its batches back to back while work is queued. This is the hot
  path: no thread hop per request, and the batch grows with the load.

``merge_lanes`` (bootstrap sets it for PostgreSQL) lets one transaction carry the coroutines'
work of *several* lanes: with many partners each lane has a command or two queued at a time,
so batches of one lane are batches of one, and every command paid a transaction of its own
(bench/http_execute.py, 100 partners: twice the CPU per request of one hot partner). A merged
batch takes the waiting lanes in turn, a fair share of each (a partner with a deep queue does
not crowd out the others), keeps each lane's arrival order, and runs its commands sorted by
lane: every transaction that locks several partners' balances takes them in that one order
(``payin_recording`` credits partners sorted too), so two processes' batches cannot deadlock.
At most ``merged_writers`` merged batches run at once; a lane is never in two batches at once,
and a thread's write (``write``) still leads its lane's next batch itself. The merged writer is
every lane's, so a merged batch waits at most ``merged_lock_wait_ms`` for a lock held outside
it (``Tx.limit_lock_waits``); past that it is undone and each of its lanes runs its next batch
in a transaction of its own, on a writer thread of its own: only the blocked lane waits on.
A merged batch of several lanes that fails (anything but a command's refusal, which its
savepoint undoes alone) is given back the same way, so only the failing lane's work fails.

``single_writer`` (bootstrap sets it for SQLite) puts every write of the process, laned or not,
on one lane: SQLite has one write lock per database, so two writers of one process could only
take turns through SQLite's busy handler, which sleeps (up to 100 ms) instead of being woken
when the lock frees. On one lane they queue in the process and are woken at once; a write
without a lane still runs as a transaction of its own (``solo``), only in turn.

Each lane's queued writes are bounded (``GROUP_COMMIT_QUEUE_MAX``), counted per lane as the
caller named it, also where lanes share one queue (the single writer): a write arriving when its
lane is full is refused at once with ``Overloaded`` (503 with ``Retry-After``) before anything
ran, so an overload sheds work instead of growing memory and latency without limit, and one
partner's flood is refused without refusing the others.

Work functions must be functions of the transaction only (the store may retry the whole batch
on a raced unique key). A batch of one runs exactly like a plain ``write``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from operator import attrgetter
from typing import Any, Generic, TypeVar

from zeropools.domain import limits
from zeropools.domain.errors import DomainError, Overloaded
from zeropools.store.protocol import LockWaitExceeded, SelfContained, Store, Tx

T = TypeVar("T")
log = logging.getLogger("zeropools.store")

# the one lane of a single-writer store
_ALL = "*"


class _Job(Generic[T]):
    """One write waiting for its turn: a thread sleeping on ``ready``, or a coroutine awaiting
    ``future`` (resolved on its own event loop)."""

    __slots__ = ("error", "finished", "future", "lane", "loop", "ready", "solo", "value", "work")

    def __init__(
        self,
        work: Callable[[Tx], T],
        *,
        solo: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        lane: str = "",
    ) -> None:
        self.work = work
        self.lane = lane  # the order a merged batch runs its commands in
        self.solo = solo  # a transaction of its own: never shares a batch
        self.loop = loop
        self.future: asyncio.Future[T] | None = loop.create_future() if loop else None
        self.ready: threading.Event | None = None if loop else threading.Event()
        self.finished = False
        self.value: Any = None
        self.error: BaseException | None = None

    def finish(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error, self.finished = value, error, True

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        result: T = self.value
        return result


def _resolve(jobs: list[_Job[Any]]) -> None:
    """On the jobs' event loop: hand each awaiting request its outcome."""
    for job in jobs:
        future = job.future
        assert future is not None
        if future.cancelled():
            continue  # the request went away; its work happened (or not) all the same
        if job.error is not None:
            future.set_exception(job.error)
        else:
            future.set_result(job.value)


class GroupCommitStore:
    """A ``Store`` whose laned writes are group-committed; everything else is delegated."""

    def __init__(
        self,
        inner: Store,
        *,
        batch_commands_max: int = limits.GROUP_COMMIT_COMMANDS_MAX,
        queue_max: int = limits.GROUP_COMMIT_QUEUE_MAX,
        single_writer: bool = False,
        writer_threads: int = limits.GROUP_COMMIT_WRITER_THREADS,
        merge_lanes: bool = False,
        merged_writers: int = limits.GROUP_COMMIT_MERGED_WRITERS,
        merged_lock_wait_ms: int = limits.GROUP_COMMIT_MERGED_LOCK_WAIT_MS,
    ) -> None:
        self.inner = inner
        self.url = inner.url
        self.dialect = inner.dialect
        self.single_writer = single_writer
        self._batch_max = batch_commands_max
        self._queue_max = queue_max
        self._lock = threading.Lock()
        self._queues: dict[str, deque[_Job[Any]]] = {}
        self._leading: set[str] = set()
        self._writer_threads = 1 if single_writer else writer_threads
        self._writers: ThreadPoolExecutor | None = None
        self._merge = merge_lanes and not single_writer
        self._merged_max = merged_writers
        self._merged_lock_wait_ms = merged_lock_wait_ms
        self._merged_running = 0
        # lanes whose head is a coroutine's work, waiting for a merged batch (each is leading)
        self._waiting: deque[str] = deque()
        # queued jobs per lane as the caller named it (the queue bound; "" counts the unlaned
        # writes a single writer queues)
        self._queued_of: Counter[str] = Counter()

    # the plain store surface -----------------------------------------------------------------
    def migrate(self) -> list[str]:
        return self.inner.migrate()

    def pending_migrations(self) -> list[str]:
        return self.inner.pending_migrations()

    def read(self, work: Callable[[Tx], T]) -> T:
        return self.inner.read(work)

    def reading(self) -> AbstractContextManager[Tx]:
        return self.inner.reading()

    def close(self) -> None:
        with self._lock:
            writers, self._writers = self._writers, None
        if writers is not None:
            writers.shutdown(wait=True)  # batches in flight commit (or fail) and answer
        self.inner.close()

    # writes ------------------------------------------------------------------------------------
    def _lane_of(self, lane: str | None) -> str | None:
        if self.single_writer:
            return _ALL
        return lane

    def _enqueue(self, key: str, job: _Job[Any]) -> bool:
        """Queue ``job`` (under ``_lock``); True when the lane has no leader yet (the caller
        must see that it gets one)."""
        # counted per partner, also where partners share a queue (SQLite's single writer): a
        # partner's flood gets that partner the 503, not the others
        queued = self._queued_of[job.lane]
        if queued >= self._queue_max:
            raise Overloaded(
                f"Too many requests are waiting for this partner's balance "
                f"({queued} queued); nothing was done. Retry shortly.",
                retry_after_s=limits.OVERLOADED_RETRY_AFTER_S,
            )
        self._queues.setdefault(key, deque()).append(job)
        self._queued_of[job.lane] += 1
        leads = key not in self._leading
        if leads:
            self._leading.add(key)
        return leads

    def write(self, work: Callable[[Tx], T], lane: str | None = None) -> T:
        """Apply ``work`` in a transaction, shared with other writes queued on ``lane``."""
        key = self._lane_of(lane)
        if key is None:
            return self.inner.write(work)
        job: _Job[T] = _Job(work, solo=lane is None, lane=lane or "")
        with self._lock:
            leads = self._enqueue(key, job)
        if not leads:
            assert job.ready is not None
            job.ready.wait()  # set when done, or when the lead is handed to this thread
        if not job.finished:
            self._lead(key, writer=False)
        return job.outcome()

    async def write_async(self, work: Callable[[Tx], T], lane: str | None = None) -> T:
        """``write`` for a coroutine: the work is queued on its lane and run by a writer
        thread; the caller awaits the shared commit without holding a thread."""
        key = self._lane_of(lane)
        if key is None:
            return await asyncio.to_thread(self.inner.write, work)
        job: _Job[T] = _Job(
            work, solo=lane is None, loop=asyncio.get_running_loop(), lane=lane or ""
        )
        with self._lock:
            if self._enqueue(key, job):
                self._drive_later(key)
        assert job.future is not None
        return await job.future

    def _drive_later(self, key: str) -> None:
        """Have a writer thread drive ``key`` (under ``_lock``; the lane is marked leading)."""
        if self._merge:
            self._waiting.append(key)
            if self._merged_running < self._merged_max:
                self._merged_running += 1
                self._pool().submit(self._drive_merged)
            return
        self._pool().submit(self._drive, key)

    def _pool(self) -> ThreadPoolExecutor:
        if self._writers is None:
            self._writers = ThreadPoolExecutor(
                max_workers=self._writer_threads, thread_name_prefix="zeropools-writer"
            )
        return self._writers

    def _next(self, queue: deque[_Job[Any]]) -> _Job[Any]:
        """(Under ``_lock``) the job at the head of ``queue``, taken into a batch."""
        job = queue.popleft()
        self._queued_of[job.lane] -= 1
        return job

    def _drive(self, key: str) -> None:
        """A writer thread: run ``key``'s batches while coroutines' work is at its head."""
        while self._lead(key, writer=True):
            pass

    def _drive_merged(self) -> None:
        """A writer thread: run merged batches while lanes wait for one."""
        while True:
            with self._lock:
                if not self._waiting:
                    self._merged_running -= 1
                    return
                batch, lanes = self._take_merged()
            # a merged batch waits at most so long for a lock held outside: the merged writer
            # is every lane's, so one blocked partner (even alone in the batch) must not hold
            # up the others
            given_back = self._run(batch, self._merged_lock_wait_ms, lanes=len(lanes))
            with self._lock:
                if given_back is not None:
                    self._alone(batch, lanes, given_back)
                    continue
                for key in lanes:
                    self._release(key, writer=False)
            _answer(batch)

    def _alone(self, batch: list[_Job[Any]], lanes: list[str], failure: Exception) -> None:
        """(Under ``_lock``) a merged batch given back (``_run``): its work back at the head of
        each lane, in order, and each lane's next batch run by a writer thread of its own,
        waiting for locks as long as it takes: only the blocked lane waits, only the failing
        lane fails."""
        # worth an operator's notice: a partner's balance was locked this long by another
        # transaction (an operator's command, an import, another process's batch), or one
        # partner's command failed with something no refusal explains
        if isinstance(failure, LockWaitExceeded):
            log.warning(
                "a batch of %d commands of %d partner lanes waited %d ms for a lock held "
                "elsewhere; each lane runs on its own",
                len(batch),
                len(lanes),
                self._merged_lock_wait_ms,
            )
        else:
            log.warning(
                "a batch of %d commands of %d partner lanes failed (%r); each lane runs on its own",
                len(batch),
                len(lanes),
                failure,
            )
        for key in lanes:
            mine = [job for job in batch if job.lane == key]
            self._queues[key].extendleft(reversed(mine))
            self._queued_of.update(job.lane for job in mine)
            self._pool().submit(self._lead, key, writer=False)

    def _take_merged(self) -> tuple[list[_Job[Any]], list[str]]:
        """(Under ``_lock``) the next merged batch: the waiting lanes in turn, each at most its
        share of ``_batch_max`` (the rest of a deep lane waits for a later batch, at the back),
        only coroutines' work; and the lanes it took."""
        share = max(1, -(-self._batch_max // len(self._waiting)))
        batch: list[_Job[Any]] = []
        lanes: list[str] = []
        while self._waiting and len(batch) < self._batch_max:
            key = self._waiting.popleft()
            queue = self._queues[key]
            taken = 0
            while queue and taken < share and len(batch) < self._batch_max:
                if queue[0].ready is not None:  # a thread's: it leads its own batch
                    break
                batch.append(self._next(queue))
                taken += 1
            lanes.append(key)
        batch.sort(key=attrgetter("lane"))  # stable: each lane's order is kept
        return batch, lanes

    def _run(
        self, batch: list[_Job[Any]], lock_wait_ms: int | None = None, *, lanes: int = 1
    ) -> Exception | None:
        """Apply ``batch`` in one transaction and give each job its outcome; never raises (a
        failure is each job's outcome). A merged batch
        (``lock_wait_ms`` set) is instead given back, no outcome given and nothing of it kept,
        with the failure, when it ran out of lock wait, or when it failed and holds several
        lanes' work: one partner's failure must not be every partner's."""

        def work(tx: Tx) -> list[tuple[Any, DomainError | None]]:
            if lock_wait_ms is not None:
                tx.limit_lock_waits(lock_wait_ms)
            return [_attempt(tx, job) for job in batch]

        try:
            if len(batch) == 1 and lock_wait_ms is None:
                batch[0].finish(self.inner.write(batch[0].work))
            else:
                outcomes = self.inner.write(work)
                for job, (value, error) in zip(batch, outcomes, strict=True):
                    job.finish(value, error)
        except BaseException as failure:  # the shared commit failed: nobody's work happened
            if (
                lock_wait_ms is not None
                and isinstance(failure, Exception)
                and (isinstance(failure, LockWaitExceeded) or lanes > 1)
            ):
                return failure
            for job in batch:
                job.finish(error=failure)
        return None

    def _lead(self, key: str, *, writer: bool) -> bool:
        """Run one batch from the head of ``key``'s queue, then pass the lead on. True when the
        next batch is this thread's to run (a coroutine's work is next, and this is a writer)."""
        with self._lock:
            queue = self._queues[key]
            batch = [self._next(queue)]
            if not batch[0].solo:
                while queue and len(batch) < self._batch_max and not queue[0].solo:
                    batch.append(self._next(queue))
        self._run(batch)
        with self._lock:
            keep_driving = self._release(key, writer)
        _answer(batch)
        return keep_driving

    def _release(self, key: str, writer: bool) -> bool:
        """(Under ``_lock``) after a batch of ``key``: who leads its next one. True when it is
        the calling writer thread's to run."""
        queue = self._queues[key]
        if not queue:
            del self._queues[key]
            self._leading.discard(key)
            return False
        head = queue[0]
        if head.ready is not None:
            head.ready.set()  # a thread waits at the head: it leads the next batch
            return False
        if writer and not self._merge:
            return True
        self._drive_later(key)  # a coroutine's work is next: a writer thread takes over
        return False


def _answer(batch: list[_Job[Any]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
    for job in batch:
        if job.ready is not None:
            job.ready.set()
        else:
            assert job.loop is not None
            by_loop.setdefault(job.loop, []).append(job)
    for loop, jobs in by_loop.items():
        # one wake-up of the loop per batch; a closed loop has nobody waiting any more
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, jobs)


def _attempt(tx: Tx, job: _Job[Any]) -> tuple[Any, DomainError | None]:
    try:
        if isinstance(job.work, SelfContained):  # it undoes its own refusals
            return job.work(tx), None
        with tx.savepoint():
            return job.work(tx), None
    except DomainError as refusal:  # undone to its savepoint; the others go on
        return None, refusal

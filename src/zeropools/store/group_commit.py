"""Group commit in the application: concurrent writes for one partner share a transaction.

DESIGN.md "Concurrency and speed": the ceiling of one transaction per request is the commit
itself (an fsync on SQLite, a WAL flush on PostgreSQL). ``GroupCommitStore`` wraps a store;
a write names its *lane* — the partner whose balance it touches, whoever asks (a partner's
execution, an operator's settle, a credit) — and concurrent writes of one lane are applied by
the first thread to arrive (the leader), in arrival order, in one transaction, each in its own
savepoint with its own outcome (a refusal undoes only that command); followers sleep until the
leader hands them their result. Durability is unchanged: nobody gets an answer before the shared
commit. A write without a lane is a plain transaction of its own.

Each lane's queue is bounded (``GROUP_COMMIT_QUEUE_MAX``): a write arriving at a full queue is
refused at once with ``Overloaded`` (503 with ``Retry-After``) before anything ran, so an
overload sheds work instead of growing memory and latency without limit.

Work functions must be functions of the transaction only (the store may retry the whole batch
on a raced unique key). A batch of one runs exactly like a plain ``write``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from zeropools.domain import limits
from zeropools.domain.errors import DomainError, Overloaded
from zeropools.store.protocol import Store, Tx

T = TypeVar("T")


@dataclass
class _Job(Generic[T]):
    work: Callable[[Tx], T]
    ready: threading.Event = field(default_factory=threading.Event)
    finished: bool = False
    value: Any = None
    error: BaseException | None = None

    def finish(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error, self.finished = value, error, True

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        result: T = self.value
        return result


class GroupCommitStore:
    """A ``Store`` whose laned writes are group-committed; everything else is delegated."""

    def __init__(
        self,
        inner: Store,
        *,
        batch_commands_max: int = limits.GROUP_COMMIT_COMMANDS_MAX,
        queue_max: int = limits.GROUP_COMMIT_QUEUE_MAX,
    ) -> None:
        self.inner = inner
        self.url = inner.url
        self.dialect = inner.dialect
        self._batch_max = batch_commands_max
        self._queue_max = queue_max
        self._lock = threading.Lock()
        self._queues: dict[str, deque[_Job[Any]]] = {}
        self._leading: set[str] = set()

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
        self.inner.close()

    # writes ------------------------------------------------------------------------------------
    def write(self, work: Callable[[Tx], T], lane: str | None = None) -> T:
        """Apply ``work`` in a transaction, shared with other writes queued on ``lane``."""
        if lane is None:
            return self.inner.write(work)
        job: _Job[T] = _Job(work)
        with self._lock:
            queue = self._queues.setdefault(lane, deque())
            if len(queue) >= self._queue_max:
                raise Overloaded(
                    f"Too many requests are waiting for this partner's balance "
                    f"({len(queue)} queued); nothing was done. Retry shortly.",
                    retry_after_s=limits.OVERLOADED_RETRY_AFTER_S,
                )
            queue.append(job)
            leads = lane not in self._leading
            if leads:
                self._leading.add(lane)
        if not leads:
            job.ready.wait()  # set when done, or when the leader hands over to this thread
        if not job.finished:
            self._lead(lane)
        return job.outcome()

    def _lead(self, lane: str) -> None:
        with self._lock:
            queue = self._queues[lane]
            batch = [queue.popleft() for _ in range(min(len(queue), self._batch_max))]
        try:
            if len(batch) == 1:
                batch[0].finish(self.inner.write(batch[0].work))
            else:
                outcomes = self.inner.write(lambda tx: [_attempt(tx, job) for job in batch])
                for job, (value, error) in zip(batch, outcomes, strict=True):
                    job.finish(value, error)
        except BaseException as failure:  # the shared commit failed: nobody's work happened
            for job in batch:
                job.finish(error=failure)
        finally:
            with self._lock:
                queue = self._queues[lane]
                if queue:
                    queue[0].ready.set()  # its thread leads the next batch
                else:
                    del self._queues[lane]
                    self._leading.discard(lane)
            for job in batch:
                job.ready.set()


def _attempt(tx: Tx, job: _Job[Any]) -> tuple[Any, DomainError | None]:
    try:
        with tx.savepoint():
            return job.work(tx), None
    except DomainError as refusal:  # undone to its savepoint; the others go on
        return None, refusal

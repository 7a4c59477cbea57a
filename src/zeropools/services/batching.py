"""Group commit in the application: concurrent commands for one partner share a transaction.

DESIGN.md "Concurrency and speed": the ceiling of one transaction per request is the commit
itself (an fsync on SQLite, a WAL flush on PostgreSQL). When several requests of one partner
arrive together, the first thread becomes the leader and applies the queued commands, in
arrival order, in one transaction, each in its own savepoint with its own outcome (a refusal
undoes only that command); followers sleep until the leader hands them their result. Durability
is unchanged: nobody gets an answer before the shared commit.

Commands must be functions of the transaction only (the store may retry the whole batch on a
raced unique key). A batch of one runs exactly like a plain ``store.write``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from zeropools.domain import limits
from zeropools.domain.errors import DomainError
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


class Batcher:
    def __init__(
        self, store: Store, batch_commands_max: int = limits.GROUP_COMMIT_COMMANDS_MAX
    ) -> None:
        self._store = store
        self._batch_max = batch_commands_max
        self._lock = threading.Lock()
        self._queues: dict[str, deque[_Job[Any]]] = {}
        self._leading: set[str] = set()

    def run(self, key: str, work: Callable[[Tx], T]) -> T:
        """Apply ``work`` in a transaction shared with other commands queued under ``key``."""
        job: _Job[T] = _Job(work)
        with self._lock:
            self._queues.setdefault(key, deque()).append(job)
            leads = key not in self._leading
            if leads:
                self._leading.add(key)
        if not leads:
            job.ready.wait()  # set when done, or when the leader hands over to this thread
        if not job.finished:
            self._lead(key)
        return job.outcome()

    def _lead(self, key: str) -> None:
        with self._lock:
            queue = self._queues[key]
            batch = [queue.popleft() for _ in range(min(len(queue), self._batch_max))]
        try:
            if len(batch) == 1:
                batch[0].finish(self._store.write(batch[0].work))
            else:
                outcomes = self._store.write(lambda tx: [_attempt(tx, job) for job in batch])
                for job, (value, error) in zip(batch, outcomes, strict=True):
                    job.finish(value, error)
        except BaseException as failure:  # the shared commit failed: nobody's work happened
            for job in batch:
                job.finish(error=failure)
        finally:
            with self._lock:
                queue = self._queues[key]
                if queue:
                    queue[0].ready.set()  # its thread leads the next batch
                else:
                    del self._queues[key]
                    self._leading.discard(key)
            for job in batch:
                job.ready.set()


def _attempt(tx: Tx, job: _Job[Any]) -> tuple[Any, DomainError | None]:
    try:
        with tx.savepoint():
            return job.work(tx), None
    except DomainError as refusal:  # undone to its savepoint; the others go on
        return None, refusal

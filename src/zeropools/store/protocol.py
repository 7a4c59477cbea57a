"""The storage protocol the services depend on.

A service opens one transaction (``store.write`` or ``store.read``) and does all its work on
the ``Tx`` it gets: loads, locks the partner's ledger head, appends what the domain returned,
commits on success. ``write`` retries the whole function when the database reports a conflict
that a retry resolves (a unique key raced by another process), so functions passed to it must be
free of side effects outside the transaction.

``store.reading()`` is the same read-only snapshot as ``read``, held open as a context manager
so that a reader can stream rows lazily (an export as a generator): the context pins one
connection and one snapshot until it closes, from whichever thread iterates.

``Tx`` is every per-aggregate port of ``store.ports`` at once; code that needs only one
aggregate may ask for that port instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Generic, Protocol, TypeVar

from zeropools.store.ports import (
    Claim,
    ClaimLost,
    EventsPort,
    IdempotencyPort,
    IdempotencyRecord,
    LedgerPort,
    LedgerState,
    PartnersPort,
    PayinsPort,
    PeriodsPort,
    ReconciliationPort,
    SessionsPort,
    SettingsPort,
    TradesPort,
    WebhooksPort,
)

__all__ = [
    "Claim",
    "ClaimLost",
    "IdempotencyRecord",
    "IntegrityViolation",
    "LedgerState",
    "LockWaitExceeded",
    "RetryableConflict",
    "Store",
    "T",
    "Tx",
    "first",
]

T = TypeVar("T")


class RetryableConflict(Exception):
    """A unique key raced with a concurrent transaction; running again will see the winner."""


class IntegrityViolation(Exception):
    """The database refused a write that broke one of its constraints."""


class LockWaitExceeded(Exception):
    """A transaction that bounded its lock waits (``Tx.limit_lock_waits``) met a lock held
    longer; it was rolled back, nothing it did is kept."""


class Tx(
    SettingsPort,
    PartnersPort,
    LedgerPort,
    PayinsPort,
    TradesPort,
    IdempotencyPort,
    EventsPort,
    WebhooksPort,
    ReconciliationPort,
    PeriodsPort,
    SessionsPort,
    Protocol,
):
    """One open transaction: every aggregate's port, and savepoints."""

    def savepoint(self) -> AbstractContextManager[None]: ...
    def limit_lock_waits(self, milliseconds: int) -> None:
        """From here to its end, a wait for another transaction's lock longer than this fails
        the transaction (``LockWaitExceeded``) instead of waiting on; no effect where the
        database has one writer (SQLite: nobody else holds a lock once a write began)."""
        ...

    def final_writes(self) -> None:
        """The command has passed every check that can refuse it; the savepoints open now
        need not guard what it writes next."""
        ...


class Store(Protocol):
    url: str
    dialect: str

    def migrate(self) -> list[str]: ...
    def pending_migrations(self) -> list[str]: ...
    def write(self, work: Callable[[Tx], T], lane: str | None = None) -> T:
        """Run ``work`` in one write transaction; ``lane`` names the partner whose balance it
        touches, so a group-committing store may share the commit with that lane's others."""
        ...

    def read(self, work: Callable[[Tx], T]) -> T: ...
    def reading(self) -> AbstractContextManager[Tx]:
        """A read-only snapshot held for the ``with`` block; streams end with it."""
        ...

    def close(self) -> None: ...


class SelfContained(Generic[T]):
    """Work that leaves no write behind when it raises a ``DomainError`` (an idempotent
    command: a refused claim writes nothing, and the command's own refusals are undone by its
    savepoint): a group commit need not wrap it in one more savepoint, which saves two
    statements (two round trips on PostgreSQL) per command."""

    def __init__(self, work: Callable[[Tx], T]) -> None:
        self.work = work

    def __call__(self, tx: Tx) -> T:
        return self.work(tx)


def first(rows: Sequence[T]) -> T | None:
    return rows[0] if rows else None

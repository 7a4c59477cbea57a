"""``SqlTx``: ``protocol.Tx`` over one executor, composed from the per-aggregate SQL."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from zeropools.domain.errors import DomainError
from zeropools.store.sql.events import SqlEvents
from zeropools.store.sql.executor import Executor, Row
from zeropools.store.sql.idempotency import SqlIdempotency
from zeropools.store.sql.ledger import SqlLedger
from zeropools.store.sql.partners import SqlPartners
from zeropools.store.sql.payins import SqlPayins
from zeropools.store.sql.periods import SqlPeriods
from zeropools.store.sql.reconciliation import SqlReconciliation
from zeropools.store.sql.sessions import SqlSessions
from zeropools.store.sql.settings import SqlSettings
from zeropools.store.sql.trades import SqlTrades
from zeropools.store.sql.webhooks import SqlWebhooks


class SqlTx(
    SqlSettings,
    SqlPartners,
    SqlLedger,
    SqlPayins,
    SqlTrades,
    SqlIdempotency,
    SqlEvents,
    SqlWebhooks,
    SqlReconciliation,
    SqlPeriods,
    SqlSessions,
):
    """One open transaction of either database."""

    def __init__(self, executor: Executor, *, commits: bool = False) -> None:
        """``commits``: the owner calls ``before_commit`` just before it commits (a store's
        write transaction), so writes may be kept back until then."""
        self._ex = executor
        self._savepoints = 0
        self._open: list[_Savepoint] = []  # innermost last
        self._locked = {}  # SqlLedger: the ledgers this transaction holds, as they stand
        self._sequences = {} if commits else None  # SqlEvents: sequences counted, not stored
        self._claim = None  # SqlIdempotency: a claim sent soon, still holding writes back
        executor.before_write = self._before_write

    def limit_lock_waits(self, milliseconds: int) -> None:
        if self._ex.dialect.name == "postgres":
            # SET LOCAL: the transaction's own setting, gone with it (the pooled connection
            # goes back with the default)
            self._ex.control(f"SET LOCAL lock_timeout = {int(milliseconds)}")

    def before_commit(self) -> None:
        """Store what was kept back (the event streams' last sequences)."""
        self._store_sequences()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo only what the block wrote if it raises; the transaction goes on.

        Lazy: ``SAVEPOINT`` is sent just before the block's first write, so a block that only
        reads (a command refused by its checks) costs no statement, and a block after
        ``final_writes`` none at all (on PostgreSQL each one is a round trip and a
        subtransaction, and a batch of 64 commands with one each overflows the subtransaction
        cache every concurrent snapshot then has to look up)."""
        self._savepoints += 1
        mark = _Savepoint(f"zp_{self._savepoints}")
        self._open.append(mark)
        try:
            yield
        except BaseException as failure:
            self._open.remove(mark)
            if mark.sent:
                self._locked.clear()  # undone writes, and maybe locks taken inside: read again
                self._sequences = mark.sequences  # the numbers taken inside are given back
                self._ex.control(f"ROLLBACK TO SAVEPOINT {mark.name}")
                self._ex.control(f"RELEASE SAVEPOINT {mark.name}")
            elif mark.unguarded and isinstance(failure, DomainError):
                # a command refused after it said it would not be: its writes cannot be undone
                # alone, so the whole transaction must fail rather than commit half of it
                raise RefusedAfterFinalWrites(
                    f"{failure.code} raised after final_writes(); nothing can be kept"
                ) from failure
            raise
        self._open.remove(mark)
        if mark.sent:
            self._ex.control(f"RELEASE SAVEPOINT {mark.name}")

    def final_writes(self) -> None:
        """The caller's command has passed every check that can refuse it: the savepoints open
        now need not guard the writes that follow (see ``savepoint``). A ``DomainError``
        escaping one of them afterwards fails the whole transaction instead."""
        for mark in self._open:
            if not mark.sent:
                mark.waived = True

    def _before_write(self, sql: str) -> None:
        """Before any write: forget the ledger states it may change (``SqlLedger``), and send
        the SAVEPOINT of every open block still owed one."""
        if self._claim is not None:
            self._hold_writes_for_claim()
        if self._locked and _LEDGER_ROWS.search(sql) and not self._appending:
            self._locked.clear()
        for mark in self._open:
            if mark.sent:
                continue
            if mark.waived:
                mark.unguarded = True
                continue
            mark.sent = True
            mark.sequences = None if self._sequences is None else dict(self._sequences)
            self._ex.control(f"SAVEPOINT {mark.name}")

    # Raw SQL, for tests that probe the database's own defences through a store transaction.
    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._ex.run(sql, params)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._ex.all(sql, params)


# a write to the rows a ledger state is read from, other than ``append``'s own
_LEDGER_ROWS = re.compile(r"\b(?:UPDATE|INTO|FROM)\s+partner(?:s|_currencies)\b", re.IGNORECASE)


class RefusedAfterFinalWrites(RuntimeError):
    """A ``DomainError`` escaped a savepoint whose writes it did not guard (a bug in the
    command that called ``final_writes``); raised instead, so the transaction rolls back."""


class _Savepoint:
    __slots__ = ("name", "sent", "sequences", "unguarded", "waived")

    def __init__(self, name: str) -> None:
        self.name = name
        self.sequences: dict[str, tuple[int, int]] | None = None  # SqlEvents' when sent
        self.sent = False  # SAVEPOINT was sent: a failure rolls back to it
        self.waived = False  # ``final_writes`` was called while it was open and unsent
        self.unguarded = False  # waived, and a write has happened since

"""``SqlTx``: ``protocol.Tx`` over one executor, composed from the per-aggregate SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

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

    def __init__(self, executor: Executor) -> None:
        self._ex = executor
        self._savepoints = 0

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo only what the block wrote if it raises; the transaction goes on."""
        self._savepoints += 1
        name = f"zp_{self._savepoints}"
        self._ex.run(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._ex.run(f"ROLLBACK TO SAVEPOINT {name}")
            self._ex.run(f"RELEASE SAVEPOINT {name}")
            raise
        self._ex.run(f"RELEASE SAVEPOINT {name}")

    # Raw SQL, for tests that probe the database's own defences through a store transaction.
    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._ex.run(sql, params)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._ex.all(sql, params)

"""The SQL both stores share: one module per aggregate over one ``Executor``.

SQLite and PostgreSQL differ in connection handling, locking and error types (``store.sqlite``,
``store.postgres``) and in the few things ``executor.Dialect`` names, not in these queries;
keeping one copy means the contract suite tests the same SQL twice.
"""

from zeropools.store.sql.executor import (
    POSTGRES,
    SQLITE,
    Cursor,
    Dialect,
    Executor,
    Pipelining,
    StreamClosed,
    StreamCursor,
)
from zeropools.store.sql.tx import SqlTx

__all__ = [
    "POSTGRES",
    "SQLITE",
    "Cursor",
    "Dialect",
    "Executor",
    "Pipelining",
    "SqlTx",
    "StreamClosed",
    "StreamCursor",
]

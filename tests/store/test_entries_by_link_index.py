"""A trade's or a pay-in's entries are found by their own index, not by walking the ledger.

Goal: ``trade_entries`` and ``payin_entries`` (every settle, release and return of a trade,
support packets, reconciliation, and ``verify``'s check of every trade and pay-in) must cost
in proportion to the entries they return, not to the partner's whole ledger. SQLite answered
``partner_id = ? AND trade_id IN (...) ORDER BY sequence`` by walking the partner's
``(partner_id, sequence)`` key, to be spared sorting a few rows, and testing every entry the
partner ever had: on a ledger of 20,000 entries, 500 trades' entries took 17 ms instead of 2.6
(and a settle grew slower with every entry). ``entries_sql`` orders by ``+sequence``, which no
index serves, so the planner takes ``ledger_entries_trade`` / ``ledger_entries_payin``.

Method: a partner with 3,000 entries, each naming its own trade and pay-in (inserted in one
statement, statistics gathered); the statement each method runs, planned by each database
(``EXPLAIN QUERY PLAN`` on SQLite; ``EXPLAIN`` on PostgreSQL), must use the link's index and
not the partner's sequence key (what the methods return is tested with trading, support and
verify). Without ``+sequence`` SQLite's plan is the sequence key.
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from test_streaming import CREATED_AT, LINES, new_partner
from test_trades_by_status_index import _plan

from zeropools.domain.ledger import BUY_DEBIT, EntryFilter
from zeropools.store.protocol import Store
from zeropools.store.sql.executor import marks
from zeropools.store.sql.ledger import _filters, _page_sql, entries_sql
from zeropools.store.sqlite import path_from_url

ENTRIES = 3000
_COLUMNS = (
    "partner_id, sequence, id, type, currency, amount_minor, available_after_minor, "
    "reserved_after_minor, lines, trade_id, payin_id, request_id, created_at, prev_hash, hash"
)
_SQLITE_FILL = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ENTRIES})
INSERT INTO ledger_entries ({_COLUMNS})
SELECT :partner_id, i, 'ple_' || i, :type, 'EUR', 1, i, 0, :lines, 'pt_' || i, 'pin_' || i,
       'req_' || i, :created_at, printf('%064d', i - 1), printf('%064d', i)
FROM n
"""
_POSTGRES_FILL = f"""
INSERT INTO ledger_entries ({_COLUMNS})
SELECT %(partner_id)s, i, 'ple_' || i, %(type)s, 'EUR', 1, i, 0, %(lines)s, 'pt_' || i,
       'pin_' || i, 'req_' || i, %(created_at)s, lpad((i - 1)::text, 64, '0'),
       lpad(i::text, 64, '0')
FROM generate_series(1, {ENTRIES}) AS i
"""


def _filled(store: Store) -> str:
    partner_id = new_partner(store, "Links")
    params = {"partner_id": partner_id, "type": BUY_DEBIT, "lines": LINES, "created_at": CREATED_AT}
    if store.dialect == "sqlite":
        conn = sqlite3.connect(path_from_url(store.url), isolation_level=None)
        try:
            conn.execute(_SQLITE_FILL, params)
            conn.execute("ANALYZE")
        finally:
            conn.close()
    else:
        with psycopg.connect(store.url, autocommit=True) as pg:
            pg.execute(_POSTGRES_FILL, params)
            pg.execute("ANALYZE ledger_entries")
    return partner_id


@pytest.mark.parametrize("count", [1, 3])
def test_entries_of_trades_and_payins_are_read_by_their_index(store: Store, count: int) -> None:
    partner_id = _filled(store)
    for column, prefix, index in (
        ("trade_id", "pt_", "ledger_entries_trade"),
        ("payin_id", "pin_", "ledger_entries_payin"),
    ):
        sql = entries_sql(f"partner_id = %s AND {column} IN ({marks(count)})")
        plan = _plan(store, sql, [partner_id, *[f"{prefix}{n * 700 + 1}" for n in range(count)]])
        assert index in plan, plan
        assert "sqlite_autoindex_ledger_entries" not in plan, plan  # SQLite's sequence key
        assert "ledger_entries_pkey" not in plan and "Seq Scan" not in plan, plan


def test_a_page_of_one_trades_entries_is_read_by_its_index(store: Store) -> None:
    """``GET /v1/ledger?trade_id=`` (``list_entries``): the same, a page at a time."""
    partner_id = _filled(store)
    clauses, params = _filters(partner_id, EntryFilter(trade_id="pt_1401"))
    plan = _plan(store, _page_sql(clauses, EntryFilter(trade_id="pt_1401")), [*params, 100])
    assert "ledger_entries_trade" in plan, plan
    assert "sqlite_autoindex_ledger_entries" not in plan, plan


def test_a_page_of_one_type_is_read_by_its_index(store: Store) -> None:
    """``GET /v1/ledger-entries?type=`` (migration 0013): by ``(partner_id, type, sequence)``,
    which also gives the order, not along the partner's sequence key testing each type."""
    partner_id = _filled(store)
    where = EntryFilter(type="adjustment")
    clauses, params = _filters(partner_id, where)
    plan = _plan(store, _page_sql(clauses, where), [*params, 100])
    assert "ledger_entries_partner_type" in plan, plan
    assert "sqlite_autoindex_ledger_entries" not in plan and "Sort" not in plan, plan
    assert "TEMP B-TREE" not in plan, plan

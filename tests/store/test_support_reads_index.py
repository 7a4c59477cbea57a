"""An order's trades and refusals are found by their own indexes, not by reading the partner's.

Goal: a support packet for a trade or an order (``trades_of_order``, ``refusals_of``) must cost
in proportion to what it finds. SQLite found an order's trades by walking the partner's every
trade along ``trades_partner_created`` (the ORDER BY's column) to test each one's order id, and
the refusals of an order or of some quotes by reading the partner's every refusal (the two
tests ORed in one WHERE). Now the trades are sorted after ``trades_partner_order`` finds them,
and the refusals are one SELECT per key joined by UNION.

The same for an order's refusals listed a page at a time, and for the entries of a request.

Method: 3,000 trades and 3,000 refusals of one partner (one statement each, foreign keys not
enforced for the fill, statistics gathered); each statement planned by each database
(``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL) must use the key's index (what
they return is tested with the support packets).
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from test_entries_by_link_index import _filled as _filled_ledger
from test_trades_by_status_index import _plan

from zeropools.store.protocol import Store
from zeropools.store.sql.ledger import entries_of_request_sql
from zeropools.store.sql.trades import list_refusals_sql, refusals_of_sql, trades_of_order_sql
from zeropools.store.sqlite import path_from_url

ROWS = 3000
_TRADES = (
    "INSERT INTO trades (partner_id, id, quote_id, pool_id, partner_order_id, status, "
    "balance_model, source_amount_minor, currency, target_amount_minor, asset, request_id, "
    "created_at, updated_at) "
    "SELECT 'partner_x', 'pt_' || i, 'pq_' || i, 'EUR-USDT', 'order_' || i, 'debited', 'debit', "
    "100, 'EUR', 100, 'USDT', 'req_' || i, '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z' "
)
_REFUSALS = (
    "INSERT INTO trade_refusals (partner_id, id, quote_id, partner_order_id, code, detail, "
    "request_id, created_at) "
    "SELECT 'partner_x', 'ptr_' || i, 'pq_' || i, 'order_' || i, 'quote_expired', 'late', "
    "'req_' || i, '2026-11-23T09:00:00Z' "
)


def _fill(store: Store) -> None:
    if store.dialect == "sqlite":
        rows = f"FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) SELECT i FROM n)"  # noqa: E501
        conn = sqlite3.connect(path_from_url(store.url), isolation_level=None)
        try:  # a raw connection does not enforce foreign keys
            conn.execute(_TRADES + rows)
            conn.execute(_REFUSALS + rows)
            conn.execute("ANALYZE")
        finally:
            conn.close()
    else:
        rows = f"FROM generate_series(1, {ROWS}) AS i"
        with psycopg.connect(store.url, autocommit=True) as pg:
            pg.execute("SET session_replication_role = replica")  # no foreign key triggers
            pg.execute(_TRADES + rows)
            pg.execute(_REFUSALS + rows)
            pg.execute("ANALYZE trades")
            pg.execute("ANALYZE trade_refusals")


def test_an_orders_trades_are_read_by_their_index(store: Store) -> None:
    _fill(store)
    plan = _plan(store, trades_of_order_sql(), ["partner_x", "order_77"])
    assert "trades_partner_order" in plan, plan


@pytest.mark.parametrize(
    ("order", "quotes"), [("order_77", []), (None, ["pq_5", "pq_9"]), ("order_77", ["pq_5"])]
)
def test_refusals_are_read_by_their_keys_indexes(
    store: Store, order: str | None, quotes: list[str]
) -> None:
    _fill(store)
    sql, params = refusals_of_sql("partner_x", order, quotes)
    plan = _plan(store, sql, params)
    if order is not None:
        assert "trade_refusals_order" in plan, plan
    if quotes:
        assert "trade_refusals_quote" in plan, plan
    if store.dialect == "sqlite":
        # the partner alone as the key is the partner's every refusal read
        assert not any(line.endswith("(partner_id=?)") for line in plan.splitlines()), plan
        assert "SCAN trade_refusals" not in plan, plan
    else:
        assert "Seq Scan" not in plan, plan


def test_an_orders_refusals_are_listed_by_their_index(store: Store) -> None:
    """``GET /v1/trades/refusals?partner_order_id=`` (``list_refusals``), a page at a time."""
    _fill(store)
    clauses = ["partner_id = %s", "partner_order_id = %s"]
    plan = _plan(store, list_refusals_sql(clauses, "order_77"), ["partner_x", "order_77", 50])
    assert "trade_refusals_order" in plan, plan


def test_a_requests_entries_are_read_by_their_index(store: Store) -> None:
    """``entries_of_request`` (a support packet for a request id): by ``ledger_entries_request``,
    not along the partner's sequence key."""
    partner_id = _filled_ledger(store)
    sql = entries_of_request_sql("request_id = %s AND partner_id = %s")
    plan = _plan(store, sql, ["req_1401", partner_id, 100])
    assert "ledger_entries_request" in plan, plan
    assert "sqlite_autoindex_ledger_entries" not in plan, plan

"""A partner's trades in one status are found by index, not by walking its whole history.

Goal: ``list_trades(partner_id, status=...)`` (``GET /v1/trades?status=reserved``, the
dashboard's open trades) must not cost in proportion to every trade the partner ever made.
Before migration 0012, SQLite answered it by walking the partner's ``(partner_id, id)`` index
newest first and testing each trade's status: a partner with a long settled history paid for
all of it to list its few open trades. ``trades_partner_status (partner_id, status, id)`` serves
the filter and the order.

Method: the statement ``list_trades`` runs, planned by each database (``EXPLAIN QUERY PLAN`` on
SQLite; ``EXPLAIN`` on PostgreSQL with sequential scans priced out, as on a large table), must
use that index and no sort (what the listing returns is tested with the trades API).
"""

from __future__ import annotations

from typing import Any

from zeropools.store.protocol import Store
from zeropools.store.sql.trades import _trades_query


def _plan(store: Store, sql: str, params: list[Any]) -> str:
    def explain(tx: Any) -> str:
        if store.dialect == "sqlite":
            rows = tx._all(f"EXPLAIN QUERY PLAN {sql}", params)
            return "\n".join(str(row["detail"]) for row in rows)
        tx._run("SET LOCAL enable_seqscan = off")
        rows = tx._all(f"EXPLAIN {sql}", params)
        return "\n".join(str(row["QUERY PLAN"]) for row in rows)

    return store.read(explain) if store.dialect == "sqlite" else store.write(explain)


def test_a_partners_trades_in_one_status_are_read_by_index(store: Store) -> None:
    sql, params = _trades_query("partner_x", None, "reserved", 50, None)
    plan = _plan(store, sql, params)
    assert "trades_partner_status" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # the index gives the order

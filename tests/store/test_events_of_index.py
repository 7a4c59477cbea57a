"""The events a support packet shows are found by their ids' indexes, not by reading the stream.

Goal: ``events_of`` (support packets: the events of a trade's requests and about the trade,
its refusals, a pay-in, an entry) must cost in proportion to what it finds. With the request
and subject tests ORed in one WHERE, SQLite read every event of the partner's stream (its
``events_subject`` key on the stream alone) and tested each; a partner's stream has an event
per posting. One SELECT per kind of id, joined by UNION, lets each use its index.

Method: a stream of 3,000 events (one statement, statistics gathered); ``events_of``'s
statement for request ids, subject ids and both, planned by each database (``EXPLAIN QUERY
PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL), must look requests up by ``events_request`` and
subjects by ``events_subject`` with the subject id in the key (what it returns is tested with
the support packets).
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from test_trades_by_status_index import _plan

from zeropools.store.protocol import Store
from zeropools.store.sql.events import events_of_sql
from zeropools.store.sqlite import path_from_url

EVENTS = 3000
_COLUMNS = "stream, sequence, id, type, request_id, created_at, body, subject_id"
_SQLITE_FILL = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS})
INSERT INTO events ({_COLUMNS})
SELECT 'partner_x', i, 'evt_' || i, 'trade.debited', 'req_' || i, '2026-11-23T09:00:00Z',
       '{{}}', 'pt_' || i
FROM n
"""
_POSTGRES_FILL = f"""
INSERT INTO events ({_COLUMNS})
SELECT 'partner_x', i, 'evt_' || i, 'trade.debited', 'req_' || i, '2026-11-23T09:00:00Z',
       '{{}}', 'pt_' || i
FROM generate_series(1, {EVENTS}) AS i
"""


def _fill(store: Store) -> None:
    if store.dialect == "sqlite":
        conn = sqlite3.connect(path_from_url(store.url), isolation_level=None)
        try:
            conn.execute(_SQLITE_FILL)
            conn.execute("ANALYZE")
        finally:
            conn.close()
    else:
        with psycopg.connect(store.url, autocommit=True) as pg:
            pg.execute(_POSTGRES_FILL)
            pg.execute("ANALYZE events")


@pytest.mark.parametrize(
    ("requests", "subjects"),
    [(["req_7", "req_1200"], []), ([], ["pt_7"]), (["req_7", "req_1200"], ["pt_7", "pt_9"])],
)
def test_events_of_ids_are_read_by_their_indexes(
    store: Store, requests: list[str], subjects: list[str]
) -> None:
    _fill(store)
    sql, params = events_of_sql("partner_x", requests, subjects)
    plan = _plan(store, sql, [*params, 100])
    if requests:
        assert "events_request" in plan, plan
    if subjects:
        assert "events_subject" in plan, plan
    if store.dialect == "sqlite":
        # the stream alone as the key (or no key) is the whole stream read
        assert "events_subject (stream=?)" not in plan and "SCAN events" not in plan, plan
    else:
        assert "Seq Scan" not in plan, plan

"""A ledger of 100,000 entries streams through one read transaction in bounded memory.

Size: 100,000 entries under ``ZEROPOOLS_SOAK=1``; quick runs stream 40,000 (forty batches, about
three minutes less on two shared cores). The bounds are the same: the stream's peak stays one
batch whatever the length, and holding 40,000 (~60 MB) is still over ten times that peak.

Goal: exports and ``verify`` read a partner's whole ledger through ``stream_entries`` inside
``store.reading()``. However long the ledger, the reader must hold one batch of rows at a time
(``limits.ENTRY_READ_BATCH_ROWS``), never the ledger: on SQLite by stepping the statement, on
PostgreSQL through a named server-side cursor.

Method: on each store, 100,000 entries are inserted in one statement (a recursive CTE on
SQLite, ``generate_series`` on PostgreSQL): they satisfy the schema but form no valid hash chain,
which this test does not read. Then, with ``tracemalloc`` tracing:

- every entry is streamed and checked in sequence order, and the traced peak is recorded;
- the first 10,000 entries are held in a list, as a reader that materialises would, and the
  traced size per entry gives what holding all 100,000 would take. Holding 100,000 directly
  (measured once: ~148 MB on either store, 10x the 10,000 figure, so linear) would add tens of
  seconds under tracing for no more information.

The stream's peak must be under ``STREAM_PEAK_BYTES_MAX`` (measured ~3 MB: one batch of rows and
their entries) and under a tenth of holding them all (~150 MB). ``tracemalloc`` sees Python's
allocations only, not libpq's result buffers, and psycopg converts rows lazily, so on PostgreSQL
a client-side cursor would pass the memory bound while the whole result sat in C memory: the
test also asks the server, mid-stream, that our named cursor is open (``pg_cursors``).
"""

from __future__ import annotations

import gc
import sqlite3
import tracemalloc
from collections.abc import Callable, Iterator
from itertools import islice
from typing import TypeVar

import psycopg
import pytest

from support import opened_store, sized
from zeropools.domain import ids, references
from zeropools.domain.ledger import ADJUSTMENT, GENESIS_HASH, Balance, Line, lines_to_json
from zeropools.domain.partners import Partner, PartnerCurrency
from zeropools.store.protocol import Store
from zeropools.store.sqlite import path_from_url

T = TypeVar("T")

ENTRIES = sized(40_000, 100_000)
SAMPLE_ENTRIES = 10_000
STREAM_PEAK_BYTES_MAX = 8 * 1024 * 1024
CREATED_AT = "2026-11-23T09:00:00.000000Z"
LINES = lines_to_json((Line("available", 1), Line("platform:adjustments", -1)))
_COLUMNS = (
    "partner_id, sequence, id, type, currency, amount_minor, available_after_minor, "
    "reserved_after_minor, lines, reason, request_id, created_at, prev_hash, hash"
)
# Realistic widths: ids of 26 characters after their prefix, hashes of 64 hex digits.
_SQLITE_BULK = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :entries)
INSERT INTO ledger_entries ({_COLUMNS})
SELECT :partner_id, i, 'ple_' || printf('%026d', i), :type, 'EUR', 1, i, 0, :lines, 'bulk',
       'req_' || printf('%026d', i), :created_at, printf('%064d', i - 1), printf('%064d', i)
FROM n
"""
_POSTGRES_BULK = f"""
INSERT INTO ledger_entries ({_COLUMNS})
SELECT %(partner_id)s, i, 'ple_' || lpad(i::text, 26, '0'), %(type)s, 'EUR', 1, i, 0,
       %(lines)s, 'bulk', 'req_' || lpad(i::text, 26, '0'), %(created_at)s,
       lpad((i - 1)::text, 64, '0'), lpad(i::text, 64, '0')
FROM generate_series(1, %(entries)s) AS i
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bulk(request: pytest.FixtureRequest) -> Iterator[tuple[Store, str]]:
    """A store holding one partner with ``ENTRIES`` ledger entries; the partner's id."""
    url = str(
        request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "migrated_pg_url")
    )
    with opened_store(url) as store:
        yield store, _fill(store)


def new_partner(store: Store, name: str) -> str:
    """A debit-model partner in EUR with no entries (bulk inserts add them); its id."""
    partner_id = ids.new_id(ids.PARTNER)
    currency = PartnerCurrency(
        partner_id, "EUR", references.new_creditor_reference(), None, Balance()
    )
    partner = Partner(partner_id, name, "debit", CREATED_AT, (currency,))
    store.write(lambda tx: tx.insert_partner(partner, GENESIS_HASH))
    return partner_id


def _fill(store: Store) -> str:
    partner_id = new_partner(store, "Bulk")
    params = {
        "entries": ENTRIES,
        "partner_id": partner_id,
        "type": ADJUSTMENT,
        "lines": LINES,
        "created_at": CREATED_AT,
    }
    if store.dialect == "sqlite":
        conn = sqlite3.connect(path_from_url(store.url), isolation_level=None)
        try:
            conn.execute(_SQLITE_BULK, params)
        finally:
            conn.close()
    else:
        with psycopg.connect(store.url, autocommit=True) as pg:
            pg.execute(_POSTGRES_BULK, params)
    return partner_id


def traced_peak_bytes(work: Callable[[], T]) -> tuple[T, int]:
    """What ``work`` returns, and the peak of the memory it allocated while it ran."""
    gc.collect()
    tracemalloc.start()
    try:
        result = work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.slow
@pytest.mark.soak
def test_a_long_ledger_streams_in_bounded_memory(bulk: tuple[Store, str]) -> None:
    store, partner_id = bulk
    server_cursors: list[str] = []

    def stream_all() -> int:
        streamed = 0
        with store.reading() as tx:
            for entry in tx.stream_entries(partner_id):
                streamed += 1
                assert entry.sequence == streamed
                if streamed == ENTRIES // 2 and store.dialect == "postgres":
                    rows = tx._all("SELECT name FROM pg_cursors")  # type: ignore[attr-defined]
                    server_cursors.extend(row["name"] for row in rows)
        return streamed

    def hold_sample() -> int:
        with store.reading() as tx:
            held = list(islice(tx.stream_entries(partner_id), SAMPLE_ENTRIES))
            return len(held)

    streamed, stream_peak = traced_peak_bytes(stream_all)
    held, sample_bytes = traced_peak_bytes(hold_sample)
    holding_all_bytes = sample_bytes * ENTRIES // SAMPLE_ENTRIES
    print(
        f"{store.dialect}: streaming {streamed} entries peaked at {stream_peak / 1e6:.1f} MB; "
        f"holding {held} took {sample_bytes / 1e6:.1f} MB, so all would take "
        f"~{holding_all_bytes / 1e6:.0f} MB"
    )

    assert streamed == ENTRIES
    assert held == SAMPLE_ENTRIES
    assert stream_peak < STREAM_PEAK_BYTES_MAX
    assert stream_peak * 10 < holding_all_bytes
    if store.dialect == "postgres":
        assert server_cursors == ["zp_stream_1"]

    # the bulk rows are entries of realistic shape: the figures above measure real ones
    with store.reading() as tx:
        last = list(tx.stream_entries(partner_id, after_sequence=ENTRIES - 2))
        assert tx.get_entry(partner_id, last[-1].id) == last[-1]
    assert [entry.sequence for entry in last] == [ENTRIES - 1, ENTRIES]
    assert last[-1].lines == (Line("available", 1), Line("platform:adjustments", -1))
    assert len(last[-1].id) == len("ple_") + 26 and len(last[-1].hash) == 64

"""Read transactions as contexts (``Store.reading``) and lazy ledger streams, on both stores.

Goal: an export can be a generator over ``with store.reading() as tx: yield from
tx.stream_entries(...)`` and be served by Starlette, which calls ``next()`` from whichever pool
thread is free. So a read context must: see one snapshot from start to end while writers
commit; refuse writes (it is a snapshot, not a transaction to write in); work when entered,
iterated and left on different threads; and give its connection and snapshot back however it
ends: normally, when the consumer raises mid-stream, when the generator is abandoned. A stream
resumed after its context ended must raise, never end early (a truncated export would look
complete).

Method: every test takes the ``store`` fixture (both databases). Whether a snapshot is still
held is asked of the database itself, from outside the store (``snapshot_held``): on
PostgreSQL, a session of this database left "idle in transaction"; on SQLite, a WAL checkpoint
that cannot complete because a reader still uses frames older than the last commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import count

import psycopg
import pytest

from zeropools.domain import ids, ledger, references
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.ledger import GENESIS_HASH, Balance, EntryDraft, EntryFilter, LedgerEntry
from zeropools.domain.money import Currencies
from zeropools.domain.paging import Page
from zeropools.domain.partners import Partner, PartnerCurrency
from zeropools.store.protocol import Store, Tx
from zeropools.store.sql import StreamClosed
from zeropools.store.sqlite import path_from_url

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
_probes = count()


# helpers ------------------------------------------------------------------------------------
def onboard(store: Store, currencies: Sequence[str] = ("EUR", "USD")) -> str:
    partner_id = ids.new_id(ids.PARTNER)
    partner = Partner(
        partner_id,
        "Stream Wallet",
        "debit",
        to_rfc3339(T0),
        tuple(
            PartnerCurrency(partner_id, code, references.new_creditor_reference(), None, Balance())
            for code in currencies
        ),
    )
    store.write(lambda tx: tx.insert_partner(partner, GENESIS_HASH))
    return partner_id


def credit(currency: str = "EUR", amount_minor: int = 100) -> EntryDraft:
    return ledger.payin_credit(currency, amount_minor, ids.new_id(ids.PAYIN), None)


def post(store: Store, partner_id: str, drafts: Sequence[EntryDraft], now: datetime = T0) -> None:
    def work(tx: Tx) -> None:
        state = tx.lock_ledger(partner_id)
        tx.append(
            ledger.append(
                state.head,
                state.balances,
                drafts,
                currencies=Currencies(),
                request_id="req_reading",
                now=now,
            )
        )

    store.write(work)


def snapshot_held(store: Store) -> bool:
    """Whether some transaction of ``store`` still holds a read snapshot open."""
    if store.dialect == "postgres":
        with psycopg.connect(store.url, autocommit=True) as probe:
            row = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            ).fetchone()
        return row is not None and int(row[0]) > 0
    # A commit, then a checkpoint that must reach the end of the WAL: it cannot while a reader
    # still reads from an older snapshot.
    store.write(lambda tx: tx.set_setting("probe", str(next(_probes))))
    probe = sqlite3.connect(path_from_url(store.url), timeout=0, isolation_level=None)
    try:
        busy, _, _ = probe.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        probe.close()
    return bool(busy)


def sequences(entries: Iterator[LedgerEntry]) -> list[int]:
    return [entry.sequence for entry in entries]


@pytest.fixture
def partner_id(store: Store) -> str:
    """Five entries: EUR, USD (09:00), EUR (09:15), EUR, USD (10:00)."""
    partner_id = onboard(store)
    post(store, partner_id, [credit(), credit("USD")])
    post(store, partner_id, [credit()], now=T0 + timedelta(minutes=15))
    post(store, partner_id, [credit(), credit("USD")], now=T0 + timedelta(hours=1))
    return partner_id


# streams ------------------------------------------------------------------------------------
STREAM_CASES = [
    ({}, [1, 2, 3, 4, 5]),
    ({"currency": "EUR"}, [1, 3, 4]),
    ({"currency": "USD"}, [2, 5]),
    ({"currency": "GBP"}, []),
    ({"created_gte": "2026-11-23T09:15:00.000000Z"}, [3, 4, 5]),
    ({"created_lt": "2026-11-23T09:15:00.000000Z"}, [1, 2]),
    ({"after_sequence": 3}, [4, 5]),
    ({"after_sequence": 5}, []),
    (
        {
            "currency": "EUR",
            "created_gte": "2026-11-23T09:15:00.000000Z",
            "created_lt": "2026-11-23T10:00:00.000000Z",
        },
        [3],
    ),
    ({"currency": "USD", "after_sequence": 2}, [5]),
]


@pytest.mark.parametrize(("filters", "expected"), STREAM_CASES)
def test_stream_entries_filters_and_continues_after_a_sequence_in_sequence_order(
    store: Store, partner_id: str, filters: dict[str, str], expected: list[int]
) -> None:
    with store.reading() as tx:
        streamed = list(tx.stream_entries(partner_id, **filters))  # type: ignore[arg-type]
        assert [entry.sequence for entry in streamed] == expected
        # the same entries, field for field, as the paged list
        if "after_sequence" not in filters:
            listed = tx.list_entries(partner_id, EntryFilter(**filters), Page(100))
            assert streamed == listed
    # another partner's ledger is not in the stream
    other = onboard(store)
    with store.reading() as tx:
        assert list(tx.stream_entries(other, **filters)) == []  # type: ignore[arg-type]


def test_a_read_context_sees_one_snapshot_while_writers_commit(
    store: Store, partner_id: str
) -> None:
    with store.reading() as tx:
        before = tx.ledger_state(partner_id)
        stream = tx.stream_entries(partner_id)
        assert next(stream).sequence == 1
        post(store, partner_id, [credit(amount_minor=7)])  # commits on another connection
        assert tx.ledger_state(partner_id) == before
        assert sequences(stream) == [2, 3, 4, 5]
        assert sequences(tx.iter_entries(partner_id)) == [1, 2, 3, 4, 5]
    after = store.read(lambda tx: tx.ledger_state(partner_id))
    assert after.head.sequence == 6
    assert after.balances["EUR"] == Balance(before.balances["EUR"].available_minor + 7, 0)


def test_a_read_context_refuses_to_write(store: Store) -> None:
    store.write(lambda tx: tx.set_setting("k", "kept"))
    refused = (sqlite3.OperationalError, psycopg.errors.ReadOnlySqlTransaction)
    with pytest.raises(refused, match=r"read.?only"), store.reading() as tx:
        tx.set_setting("k", "written by a reader")
    assert store.read(lambda tx: tx.get_setting("k")) == "kept"
    assert not snapshot_held(store)


# how a read context ends ---------------------------------------------------------------------
def test_a_stream_is_opened_iterated_and_closed_from_different_threads(
    store: Store, partner_id: str
) -> None:
    def export() -> Iterator[int]:
        with store.reading() as tx:
            for entry in tx.stream_entries(partner_id):
                yield entry.sequence

    # Two single-thread executors taking turns: no two consecutive next() share a thread,
    # as when Starlette iterates a sync body in its thread pool.
    stream = export()
    threads = [ThreadPoolExecutor(1), ThreadPoolExecutor(1)]
    try:
        seen = [threads[turn % 2].submit(next, stream, None).result() for turn in range(6)]
    finally:
        for pool in threads:
            pool.shutdown()
    assert seen == [1, 2, 3, 4, 5, None]
    assert not snapshot_held(store)


def test_leaving_the_context_mid_stream_releases_the_snapshot_and_the_stream_then_raises(
    store: Store, partner_id: str
) -> None:
    with store.reading() as tx:
        stream = tx.stream_entries(partner_id)
        assert next(stream).sequence == 1
        assert snapshot_held(store)  # the probe sees an open read
    assert not snapshot_held(store)
    with pytest.raises(StreamClosed):
        next(stream)

    # a stream made but never started inside the context cannot start after it
    with store.reading() as tx:
        unstarted = tx.stream_entries(partner_id)
    with pytest.raises(StreamClosed):
        next(unstarted)


def test_a_consumer_raising_mid_stream_releases_the_snapshot(store: Store, partner_id: str) -> None:
    # raising inside the with block
    with pytest.raises(RuntimeError, match="client went away"), store.reading() as tx:
        for entry in tx.stream_entries(partner_id):
            if entry.sequence == 2:
                raise RuntimeError("client went away")
    assert not snapshot_held(store)

    # raising outside a generator that holds the context: the generator is then dropped
    def export() -> Iterator[LedgerEntry]:
        with store.reading() as tx:
            yield from tx.stream_entries(partner_id)

    stream = export()
    with pytest.raises(RuntimeError, match="client went away"):
        for entry in stream:
            if entry.sequence == 2:
                raise RuntimeError("client went away")
    assert snapshot_held(store)  # suspended, not yet closed
    del stream  # what the server does with a response body it stops sending
    assert not snapshot_held(store)


def test_an_abandoned_stream_closes_its_cursor_and_the_transaction_goes_on(
    store: Store, partner_id: str
) -> None:
    with store.reading() as tx:
        stream = tx.stream_entries(partner_id)
        assert next(stream).sequence == 1
        if store.dialect == "postgres":  # a server-side cursor, then none
            assert [row["name"] for row in tx._all("SELECT name FROM pg_cursors")] == [  # type: ignore[attr-defined]
                "zp_stream_1"
            ]
        del stream
        if store.dialect == "postgres":
            assert tx._all("SELECT name FROM pg_cursors") == []  # type: ignore[attr-defined]
        assert sequences(tx.stream_entries(partner_id, after_sequence=3)) == [4, 5]
        assert tx.ledger_state(partner_id).head.sequence == 5
    assert not snapshot_held(store)

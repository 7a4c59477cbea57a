"""An idempotency claim rides with the transaction's next statement and holds writes back until
it is decided.

Goal (issue 13, fewer round trips): an execution's key costs no round trip of its own on
PostgreSQL; its ``INSERT ... ON CONFLICT DO NOTHING`` travels with the execution's first read.
What must hold, on both stores: a new key is claimed and the transaction's writes follow; for a
key already there the claim loses and, until the caller releases it, every write raises
``ClaimLost`` and is not written (not even queued), while reads still run; a write decides a
claim still pending before it is itself queued. On PostgreSQL the claim and the next read share
one round trip.

Method: ``Store.write`` transactions with settings as the writes and reads (the idempotency
rows are read back after commit); for the round trips, an ``SqlTx`` over an executor whose
pipelines are counted (as in ``test_deferred_writes``), on temporary tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from support import counted_pipelining
from zeropools.store.protocol import ClaimLost, IdempotencyRecord, Store, Tx
from zeropools.store.sql import POSTGRES, Executor
from zeropools.store.sql.tx import SqlTx

SCOPE = "partner_claims"


def _record(key: str, request_id: str = "req_first") -> IdempotencyRecord:
    return IdempotencyRecord(SCOPE, key, "{}", request_id, None, None, "2026-12-02T10:00:00Z", None)


def _claimed_and_completed(store: Store, key: str) -> None:
    def work(tx: Tx) -> None:
        assert tx.claim_idempotency(_record(key)).won()
        tx.complete_idempotency(SCOPE, key, 201, b'{"first":true}', "2026-12-02T10:00:01Z")

    store.write(work)


def test_a_new_key_is_claimed_and_the_writes_after_it_are_kept(store: Store) -> None:
    def work(tx: Tx) -> bool:
        claim = tx.claim_idempotency(_record("k-new"))
        tx.set_setting("after_claim", "kept")  # decides the claim first, then is written
        won = claim.won()
        claim.release()
        return won

    assert store.write(work) is True
    assert store.read(lambda tx: tx.get_setting("after_claim")) == "kept"
    stored = store.read(lambda tx: tx.get_idempotency(SCOPE, "k-new"))
    assert stored is not None and stored.request_id == "req_first"


def test_a_key_already_there_loses_and_nothing_is_written_until_released(store: Store) -> None:
    _claimed_and_completed(store, "k-taken")

    def work(tx: Tx) -> list[str]:
        seen = []
        claim = tx.claim_idempotency(_record("k-taken", request_id="req_second"))
        assert tx.get_setting("mode") == "test"  # reads run while the claim is pending
        with pytest.raises(ClaimLost):
            tx.set_setting("lost_claim", "must not be written")  # a statement run now
        with pytest.raises(ClaimLost):  # a write held back for the next round trip, too
            tx.complete_idempotency(SCOPE, "k-taken", 500, b"{}", "2026-12-02T10:00:02Z")
        seen.append(f"won={claim.won()}")
        claim.release()  # the caller answered from the key: later writes are its own again
        tx.set_setting("after_release", "kept")
        return seen

    assert store.write(work) == ["won=False"]
    assert store.read(lambda tx: tx.get_setting("lost_claim")) is None
    assert store.read(lambda tx: tx.get_setting("after_release")) == "kept"
    stored = store.read(lambda tx: tx.get_idempotency(SCOPE, "k-taken"))
    assert stored is not None
    assert (stored.request_id, stored.status_code, stored.response_body) == (
        "req_first",
        201,
        b'{"first":true}',
    )


def test_a_new_claim_forgets_the_lost_one_before_it(store: Store) -> None:
    _claimed_and_completed(store, "k-old")

    def work(tx: Tx) -> bool:
        assert not tx.claim_idempotency(_record("k-old")).won()  # lost, never released
        claim = tx.claim_idempotency(_record("k-next"))
        tx.set_setting("next_command", "kept")
        return claim.won()

    assert store.write(work) is True
    assert store.read(lambda tx: tx.get_setting("next_command")) == "kept"


@pytest.fixture
def counted_tx(pg_url: str) -> Iterator[tuple[SqlTx, list[int]]]:
    conn = psycopg.connect(pg_url, row_factory=dict_row)
    pipelining, synced = counted_pipelining(conn)
    try:
        conn.execute(
            "CREATE TEMP TABLE idempotency_keys (scope text, key text, fingerprint text, "
            "request_id text, status_code int, response_body bytea, created_at text, "
            "completed_at text, PRIMARY KEY (scope, key))"
        )
        conn.execute("CREATE TEMP TABLE t (a int PRIMARY KEY)")
        executor = Executor(conn.cursor(), POSTGRES, lambda plain: conn.cursor(), pipelining)
        yield SqlTx(executor), synced
    finally:
        conn.close()


def test_on_postgres_the_claim_and_the_next_read_are_one_round_trip(
    counted_tx: tuple[SqlTx, list[int]],
) -> None:
    tx, synced = counted_tx
    claim = tx.claim_idempotency(_record("k-rt"))
    assert synced[0] == 0  # held back
    assert tx._all("SELECT count(*) AS n FROM idempotency_keys") == [{"n": 1}]
    assert synced[0] == 1  # the claim and the read: one pipeline
    assert claim.won()
    tx._run("INSERT INTO t (a) VALUES (1)")  # decided already: no round trip for the claim
    assert synced[0] == 1


def test_on_postgres_a_write_decides_a_pending_claim_before_it_is_queued(
    counted_tx: tuple[SqlTx, list[int]],
) -> None:
    tx, synced = counted_tx
    tx._run(
        "INSERT INTO idempotency_keys (scope, key, fingerprint, request_id, created_at) "
        "VALUES (%s, 'k-there', '{}', 'req_first', 'then')",
        (SCOPE,),
    )
    claim = tx.claim_idempotency(_record("k-there"))
    with pytest.raises(ClaimLost):
        tx._run("INSERT INTO t (a) VALUES (1)")
    assert synced[0] == 1  # the claim went alone, the write never
    assert not claim.won()
    assert tx._all("SELECT count(*) AS n FROM t") == [{"n": 0}]

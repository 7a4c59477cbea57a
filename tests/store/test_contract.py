"""The storage contract, run unchanged on SQLite and on PostgreSQL.

Goal: both stores behave identically for everything the services rely on (partners, funding
references, API keys, the ledger with its filters and pagination, pay-ins), and both databases
defend the ledger's invariants on their own: entries cannot be updated or deleted, a pay-in
cannot be credited twice, no balance can go negative, whoever writes the SQL.

Method: every test takes the ``store`` fixture, which is parametrized over both databases, and
works through ``store.write``/``store.read`` with domain-built values. Database-level defences
are probed with raw SQL, both through a transaction's private ``_run`` (where the store must
turn the refusal into ``IntegrityViolation``) and through a direct driver connection (sqlite3 /
psycopg), so the schema is shown to defend itself without our code in the way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from zeropools.domain import ids, ledger, references
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import NotFound
from zeropools.domain.ledger import (
    AVAILABLE,
    BUY_DEBIT,
    BUY_REFUND,
    GENESIS_HASH,
    PLATFORM_VENUE,
    Balance,
    EntryDraft,
    EntryFilter,
    LedgerEntry,
    LedgerHead,
    Line,
    Links,
    Posting,
)
from zeropools.domain.money import Currencies
from zeropools.domain.paging import Page
from zeropools.domain.partners import ApiKey, Partner, PartnerCurrency, hash_secret
from zeropools.domain.payins import Payin, ReferenceOwner
from zeropools.services.verify import verify
from zeropools.store.migrations import migrations
from zeropools.store.open import open_store
from zeropools.store.protocol import IntegrityViolation, Store, Tx
from zeropools.store.sql.tx import RefusedAfterFinalWrites
from zeropools.store.sqlite import path_from_url

CURRENCIES = Currencies()
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BASE_MS = 1_790_000_000_000


# helpers ------------------------------------------------------------------------------------
def new_partner(
    currencies: Sequence[str] = ("EUR",), now_ms: int | None = None, name: str = "Acme Wallet"
) -> Partner:
    partner_id = ids.new_id(ids.PARTNER, now_ms)
    return Partner(
        id=partner_id,
        name=name,
        balance_model="debit",
        created_at=to_rfc3339(T0),
        currencies=tuple(
            PartnerCurrency(
                partner_id=partner_id,
                currency=code,
                funding_reference=references.new_creditor_reference(),
                low_balance_threshold_minor=10_000 if code == "EUR" else None,
                balance=Balance(),
            )
            for code in currencies
        ),
    )


def insert_partner(store: Store, partner: Partner) -> Partner:
    store.write(lambda tx: tx.insert_partner(partner, GENESIS_HASH))
    return partner


def post(
    store: Store, partner_id: str, drafts: Sequence[EntryDraft], now: datetime = T0
) -> Posting:
    def work(tx: Tx) -> Posting:
        state = tx.lock_ledger(partner_id)
        posting = ledger.append(
            state.head,
            state.balances,
            drafts,
            currencies=CURRENCIES,
            request_id="req_contract",
            now=now,
        )
        tx.append(posting)
        return posting

    return store.write(work)


def credit(amount_minor: int, currency: str = "EUR", payin_id: str | None = None) -> EntryDraft:
    return ledger.payin_credit(currency, amount_minor, payin_id or ids.new_id(ids.PAYIN), None)


def debit(amount_minor: int, trade_id: str) -> EntryDraft:
    return EntryDraft(
        BUY_DEBIT,
        "EUR",
        (Line(AVAILABLE, -amount_minor), Line(PLATFORM_VENUE, amount_minor)),
        Links(trade_id=trade_id),
    )


def refund(amount_minor: int, trade_id: str, related: str) -> EntryDraft:
    return EntryDraft(
        BUY_REFUND,
        "EUR",
        (Line(AVAILABLE, amount_minor), Line(PLATFORM_VENUE, -amount_minor)),
        Links(trade_id=trade_id, related_entry_id=related),
    )


def raw(store: Store, sql: str, params: Sequence[Any] = ()) -> None:
    """Raw SQL inside one of the store's own write transactions."""
    store.write(lambda tx: tx._run(sql, params))  # type: ignore[attr-defined]


@contextmanager
def direct(store: Store) -> Iterator[Callable[[str], object]]:
    """A driver connection that bypasses the store entirely; yields ``execute(sql)``."""
    if store.dialect == "sqlite":
        conn = sqlite3.connect(path_from_url(store.url), isolation_level=None)
        try:
            yield conn.execute
        finally:
            conn.close()
    else:
        with psycopg.connect(store.url, autocommit=True) as pg:
            yield pg.execute


def direct_error(store: Store) -> type[Exception]:
    return sqlite3.IntegrityError if store.dialect == "sqlite" else psycopg.IntegrityError


def new_payin(
    partner_id: str | None,
    *,
    status: str = "pending_confirmation",
    now_ms: int | None = None,
    amount_minor: int = 10_000,
    bank_id: str | None = None,
) -> Payin:
    stamp = to_rfc3339(T0)
    return Payin(
        id=ids.new_id(ids.PAYIN, now_ms),
        bank_transaction_id=bank_id or ids.new_id("bank_"),
        partner_id=partner_id,
        amount_minor=amount_minor,
        currency="EUR",
        status=status,
        booking_status="pending" if status == "pending_confirmation" else "booked",
        reference=None,
        remittance_info="invoice 42",
        debtor_name="Debtor GmbH",
        debtor_iban="DE02120300000000202051",
        value_date="2026-11-23",
        attribution_method=None,
        attributed_by=None,
        review_reason="no payment reference" if partner_id is None else None,
        ledger_entry_id=None,
        funding_reference=None,
        request_id="req_payin",
        created_at=stamp,
        updated_at=stamp,
    )


# migrations and settings --------------------------------------------------------------------
def test_migrations_apply_once_and_a_second_run_is_a_no_op(db_url: str) -> None:
    fresh = open_store(db_url)
    every = [f"{m.version:04d}_{m.name}" for m in migrations(fresh.dialect)]
    assert every[0] == "0001_init"
    try:
        assert fresh.pending_migrations() == every
        assert fresh.migrate() == every
        assert fresh.migrate() == []
        assert fresh.pending_migrations() == []
    finally:
        fresh.close()
    reopened = open_store(db_url)
    try:
        assert reopened.migrate() == []
    finally:
        reopened.close()


def test_settings_persist_and_a_write_that_raises_leaves_nothing_behind(store: Store) -> None:
    assert store.migrate() == []
    assert store.read(lambda tx: tx.get_setting("mode")) == "test"
    assert store.read(lambda tx: tx.get_setting("missing")) is None
    store.write(lambda tx: tx.set_setting("k", "one"))
    store.write(lambda tx: tx.set_setting("k", "two"))
    assert store.read(lambda tx: tx.get_setting("k")) == "two"

    partner = new_partner()

    def work(tx: Tx) -> None:
        tx.insert_partner(partner, GENESIS_HASH)
        tx.set_setting("k", "three")
        raise NotFound("refused halfway")

    with pytest.raises(NotFound):
        store.write(work)
    assert store.read(lambda tx: tx.get_partner(partner.id)) is None
    assert store.read(lambda tx: tx.get_setting("k")) == "two"


def test_a_savepoint_undoes_only_its_block_and_a_refusal_after_final_writes_undoes_all(
    store: Store,
) -> None:
    """Savepoints are sent lazily (before a block's first write) and skipped after
    ``final_writes``: a refused block still leaves nothing of its own behind and the
    transaction goes on; a block that refuses after promising not to fails the transaction
    whole instead of committing half a command."""
    store.write(lambda tx: tx.set_setting("k", "before"))

    def refused_blocks(tx: Tx) -> None:
        tx.set_setting("k", "kept")
        for writes in (False, True):
            with pytest.raises(NotFound), tx.savepoint(), tx.savepoint():
                assert tx.get_setting("k") == "kept"
                if writes:
                    tx.set_setting("k", "undone")
                raise NotFound("refused")
        with tx.savepoint():
            tx.final_writes()
            with tx.savepoint():  # opened after the promise: guards its block as usual
                tx.set_setting("inner", "undone")
                with pytest.raises(NotFound), tx.savepoint():
                    tx.set_setting("inner", "undone too")
                    raise NotFound("refused")
                tx.set_setting("inner", "kept")
            tx.set_setting("after", "kept")

    store.write(refused_blocks)
    assert [store.read(lambda tx, k=k: tx.get_setting(k)) for k in ("k", "inner", "after")] == [
        "kept",
        "kept",
        "kept",
    ]

    def refused_after_final_writes(tx: Tx) -> None:
        with tx.savepoint():
            tx.final_writes()
            tx.set_setting("k", "half")
            raise NotFound("refused too late")

    with pytest.raises(RefusedAfterFinalWrites):
        store.write(refused_after_final_writes)
    assert store.read(lambda tx: tx.get_setting("k")) == "kept"


def test_a_stream_counts_its_sequences_in_the_transaction_without_gaps_or_repeats(
    store: Store,
) -> None:
    """After a stream's first reservation a write transaction counts its sequences itself and
    stores the last one before it commits: numbers taken in a savepoint that rolls back are
    given back, a transaction that fails leaves the stream where it was, and the next
    transaction goes on from what was committed."""

    def reserve(tx: Tx, count: int = 1) -> int:
        return tx.reserve_event_sequences("s1", count)

    def batch(tx: Tx) -> list[int]:
        taken = [reserve(tx), reserve(tx, 2)]
        with pytest.raises(NotFound), tx.savepoint():
            tx.set_setting("k", "undone")
            taken.append(reserve(tx))
            raise NotFound("refused")
        with tx.savepoint():
            taken.append(reserve(tx))
        return [*taken, reserve(tx)]

    assert store.write(batch) == [1, 2, 4, 4, 5]

    def failing(tx: Tx) -> None:
        reserve(tx)
        reserve(tx)
        raise RuntimeError("the whole transaction fails")

    with pytest.raises(RuntimeError):
        store.write(failing)
    assert store.write(reserve) == 6

    def first_inside_a_savepoint(tx: Tx) -> list[int]:
        taken = []
        with pytest.raises(NotFound), tx.savepoint():
            tx.set_setting("k", "undone")
            taken.append(tx.reserve_event_sequences("s2", 1))
            taken.append(tx.reserve_event_sequences("s2", 1))
            raise NotFound("refused")
        return [*taken, tx.reserve_event_sequences("s2", 1), reserve(tx)]

    assert store.write(first_inside_a_savepoint) == [1, 2, 1, 7]
    assert store.write(lambda tx: [tx.reserve_event_sequences("s2", 1), reserve(tx)]) == [2, 8]


# partners -----------------------------------------------------------------------------------
def test_a_partner_reads_back_with_its_currencies_and_zero_balances_or_none_if_unknown(
    store: Store,
) -> None:
    partner = insert_partner(store, new_partner(("USD", "EUR")))
    loaded = store.read(lambda tx: tx.get_partner(partner.id))
    assert loaded is not None
    assert (loaded.id, loaded.name, loaded.balance_model) == (partner.id, "Acme Wallet", "debit")
    assert loaded.created_at == partner.created_at
    assert [pc.currency for pc in loaded.currencies] == ["EUR", "USD"]
    assert loaded.currency("EUR") == partner.currency("EUR")
    assert loaded.currency("USD") == partner.currency("USD")
    assert loaded.currency("GBP") is None
    state = store.read(lambda tx: tx.ledger_state(partner.id))
    assert state.head == LedgerHead(partner.id, 0, GENESIS_HASH)
    assert dict(state.balances) == {"EUR": Balance(), "USD": Balance()}
    assert store.read(lambda tx: tx.get_partner("partner_nope")) is None


def test_partners_list_newest_first_and_page_with_starting_after(store: Store) -> None:
    made = [insert_partner(store, new_partner(now_ms=BASE_MS + i)) for i in range(5)]
    newest_first = [p.id for p in reversed(made)]
    assert store.read(lambda tx: tx.partner_ids()) == sorted(p.id for p in made)

    seen: list[str] = []
    cursor: str | None = None
    pages = []
    while True:
        page = store.read(lambda tx, c=cursor: tx.list_partners(Page(limit=2, starting_after=c)))
        if not page:
            break
        pages.append(len(page))
        seen += [p.id for p in page]
        cursor = page[-1].id
    assert pages == [2, 2, 1]
    assert seen == newest_first
    everything = store.read(lambda tx: tx.list_partners(Page(limit=100)))
    assert [p.id for p in everything] == newest_first
    assert all(len(p.currencies) == 1 for p in everything)


def test_a_funding_reference_finds_its_one_partner_and_currency(store: Store) -> None:
    partner = insert_partner(store, new_partner(("EUR", "USD")))
    for pc in partner.currencies:
        owner = store.read(lambda tx, ref=pc.funding_reference: tx.reference_owners([ref]).get(ref))
        assert owner == ReferenceOwner(partner.id, pc.currency, pc.funding_reference)
    unknown = references.new_creditor_reference()
    assert store.read(lambda tx: tx.reference_owners([unknown]).get(unknown)) is None

    # a reference belongs to one partner only
    second = new_partner()
    stolen = replace(
        second.currencies[0], funding_reference=partner.currencies[0].funding_reference
    )
    with pytest.raises(IntegrityViolation):
        insert_partner(store, replace(second, currencies=(stolen,)))
    assert store.read(lambda tx: tx.get_partner(second.id)) is None


# api keys -----------------------------------------------------------------------------------
def test_api_keys_are_found_by_id_and_hash_revoke_once_and_keep_their_shape(store: Store) -> None:
    partner = insert_partner(store, new_partner())
    secret = "zpk_test_" + "a" * 40
    key = ApiKey(
        id=ids.new_id(ids.API_KEY),
        partner_id=partner.id,
        role="partner_server",
        mode="test",
        secret_hash=hash_secret(secret),
        last4=secret[-4:],
        created_at=to_rfc3339(T0),
    )
    store.write(lambda tx: tx.insert_api_key(key))
    assert store.read(lambda tx: tx.get_api_key(key.id)) == key
    assert store.read(lambda tx: tx.api_key_by_hash(hash_secret(secret))) == key
    assert store.read(lambda tx: tx.api_key_by_hash(hash_secret(secret + "x"))) is None
    assert store.read(lambda tx: tx.get_api_key("zpk_nope")) is None

    first_revoke = to_rfc3339(T0 + timedelta(hours=1))
    store.write(lambda tx: tx.revoke_api_key(key.id, first_revoke))
    store.write(lambda tx: tx.revoke_api_key(key.id, to_rfc3339(T0 + timedelta(hours=2))))
    revoked = store.read(lambda tx: tx.get_api_key(key.id))
    assert revoked == replace(key, revoked_at=first_revoke)

    # the schema keeps operator keys partnerless, partner keys partnered, hashes unique
    operator = ApiKey(
        id=ids.new_id(ids.API_KEY),
        partner_id=None,
        role="operator",
        mode="test",
        secret_hash=hash_secret("zpk_test_operator"),
        last4="ator",
        created_at=to_rfc3339(T0),
    )
    store.write(lambda tx: tx.insert_api_key(operator))
    for bad in (
        replace(operator, id=ids.new_id(ids.API_KEY), secret_hash="h1", partner_id=partner.id),
        replace(operator, id=ids.new_id(ids.API_KEY), secret_hash="h2", role="partner_admin"),
        replace(operator, id=ids.new_id(ids.API_KEY)),  # same secret hash
        replace(key, id=ids.new_id(ids.API_KEY)),
    ):
        with pytest.raises(IntegrityViolation):
            store.write(lambda tx, key=bad: tx.insert_api_key(key))


# ledger -------------------------------------------------------------------------------------
def test_append_moves_head_and_balances_and_entries_read_back_only_for_their_partner(
    store: Store,
) -> None:
    partner = insert_partner(store, new_partner(("EUR", "USD")))
    posting = post(store, partner.id, [credit(100_000), credit(500, "USD"), debit(100, "pt_1")])
    state = store.read(lambda tx: tx.ledger_state(partner.id))
    assert state.head == posting.head
    assert state.head.sequence == 3
    assert dict(state.balances) == {"EUR": Balance(99_900, 0), "USD": Balance(500, 0)}
    locked = store.write(lambda tx: tx.lock_ledger(partner.id))
    assert locked == state
    stored = store.read(lambda tx: list(tx.iter_entries(partner.id)))
    assert stored == list(posting.entries)  # every field, hash included, reads back exactly
    for entry in posting.entries:
        assert store.read(lambda tx, e=entry: tx.get_entry(partner.id, e.id)) == entry
        assert store.read(lambda tx, e=entry: tx.get_entry(None, e.id)) == entry
    assert verify(store).ok

    # another partner's view of the ledger has none of it
    other = insert_partner(store, new_partner())
    first = posting.entries[0]
    assert store.read(lambda tx: tx.get_entry(other.id, first.id)) is None
    assert store.read(lambda tx: tx.list_entries(other.id, EntryFilter(), Page(10))) == []
    assert store.read(lambda tx: tx.get_entry(None, "ple_nope")) is None


def test_a_transaction_keeps_the_ledger_it_locked_as_its_own_postings_move_it(
    store: Store,
) -> None:
    """``lock_ledger`` reads a partner's head and balances once per transaction (a batch of
    one partner's commands): each ``append`` moves the kept state along, and a rollback to a
    savepoint or any other write to the partner's rows makes the next call read again, so what
    it answers is always what the database holds."""
    partner = insert_partner(store, new_partner(("EUR", "USD")))
    post(store, partner.id, [credit(100_000)])

    def chained(tx: Tx, drafts: Sequence[EntryDraft]) -> Posting:
        state = tx.lock_ledger(partner.id)
        posting = ledger.append(
            state.head, state.balances, drafts, currencies=CURRENCIES, request_id="r", now=T0
        )
        tx.append(posting)
        return posting

    def work(tx: Tx) -> None:
        first = chained(tx, [debit(100, "pt_1")])
        assert tx.lock_ledger(partner.id) == tx.ledger_state(partner.id)
        assert tx.lock_ledger(partner.id).head == first.head
        with pytest.raises(NotFound), tx.savepoint():
            chained(tx, [debit(200, "pt_2")])
            raise NotFound("refused")
        assert tx.lock_ledger(partner.id) == tx.ledger_state(partner.id)
        assert tx.lock_ledger(partner.id).head == first.head  # the refused posting is gone
        tx._run(  # type: ignore[attr-defined]
            "UPDATE partner_currencies SET available_minor = available_minor - 1 "
            "WHERE partner_id = %s AND currency = 'EUR'",
            (partner.id,),
        )
        assert tx.lock_ledger(partner.id).balances["EUR"] == Balance(100_000 - 100 - 1, 0)
        second = chained(tx, [debit(300, "pt_3"), credit(7, "USD")])
        assert tx.lock_ledger(partner.id) == tx.ledger_state(partner.id)
        assert tx.lock_ledger(partner.id).head == second.head

    store.write(work)
    state = store.read(lambda tx: tx.ledger_state(partner.id))
    assert dict(state.balances) == {"EUR": Balance(99_599, 0), "USD": Balance(7, 0)}
    assert state.head.sequence == 4


@pytest.fixture
def five_entries(store: Store) -> tuple[Partner, list[LedgerEntry]]:
    """EUR credit, USD credit (09:00), debit T1 (09:15), debit T2 and refund T1 (10:00)."""
    partner = insert_partner(store, new_partner(("EUR", "USD")))
    first = post(store, partner.id, [credit(100_000), credit(50_000, "USD")], now=T0)
    second = post(store, partner.id, [debit(10_000, "pt_1")], now=T0 + timedelta(minutes=15))
    third = post(
        store,
        partner.id,
        [debit(5_000, "pt_2"), refund(10_000, "pt_1", second.entries[0].id)],
        now=T0 + timedelta(hours=1),
    )
    return partner, [*first.entries, *second.entries, *third.entries]


def _sequences(store: Store, partner_id: str, where: EntryFilter, page: Page) -> list[int]:
    return [e.sequence for e in store.read(lambda tx: tx.list_entries(partner_id, where, page))]


FILTER_CASES = [
    (EntryFilter(), [1, 2, 3, 4, 5]),
    (EntryFilter(currency="USD"), [2]),
    (EntryFilter(currency="EUR"), [1, 3, 4, 5]),
    (EntryFilter(type="buy_debit"), [3, 4]),
    (EntryFilter(type="payin_credit"), [1, 2]),
    (EntryFilter(trade_id="pt_1"), [3, 5]),
    (EntryFilter(trade_id="pt_nope"), []),
    (EntryFilter(created_gte="2026-11-23T09:15:00.000000Z"), [3, 4, 5]),
    (EntryFilter(created_lt="2026-11-23T09:15:00.000000Z"), [1, 2]),
    (
        EntryFilter(
            created_gte="2026-11-23T09:15:00.000000Z", created_lt="2026-11-23T10:00:00.000000Z"
        ),
        [3],
    ),
    (EntryFilter(currency="EUR", type="buy_debit", trade_id="pt_2"), [4]),
]


def test_entries_filter_by_each_field_and_page_oldest_first_with_starting_after(
    store: Store, five_entries: tuple[Partner, list[LedgerEntry]]
) -> None:
    partner, entries = five_entries
    for where, expected in FILTER_CASES:
        assert _sequences(store, partner.id, where, Page(limit=100)) == expected, where

    # pages of two, oldest first, continued with starting_after
    by_id = {e.id: e.sequence for e in entries}
    pages: list[list[int]] = []
    cursor: str | None = None
    while True:
        page = store.read(
            lambda tx, c=cursor: tx.list_entries(partner.id, EntryFilter(), Page(2, c))
        )
        if not page:
            break
        pages.append([e.sequence for e in page])
        cursor = page[-1].id
    assert pages == [[1, 2], [3, 4], [5]]
    assert all(by_id[e.id] == e.sequence for e in entries)
    # a cursor combines with a filter: the next buy_debit after the first one
    after_first_debit = Page(10, entries[2].id)
    assert _sequences(store, partner.id, EntryFilter(type="buy_debit"), after_first_debit) == [4]


def test_iter_entries_streams_across_the_batch_boundary(store: Store) -> None:
    partner = insert_partner(store, new_partner())
    post(store, partner.id, [credit(1) for _ in range(1000)])  # exactly one full batch
    streamed = store.read(lambda tx: [e.sequence for e in tx.iter_entries(partner.id)])
    assert streamed == list(range(1, 1001))

    post(store, partner.id, [credit(2) for _ in range(1001)])  # then two more batches
    streamed = store.read(lambda tx: [e.sequence for e in tx.iter_entries(partner.id)])
    assert streamed == list(range(1, 2002))
    report = verify(store)
    assert report.ok, report.problems
    assert report.entries == 2001
    state = store.read(lambda tx: tx.ledger_state(partner.id))
    assert state.balances["EUR"] == Balance(1000 + 2 * 1001, 0)


# pay-ins ------------------------------------------------------------------------------------
def test_a_payin_reads_back_by_id_and_bank_transaction_id_and_updates(store: Store) -> None:
    partner = insert_partner(store, new_partner())
    payin = new_payin(partner.id)
    store.write(lambda tx: tx.insert_payin(payin))
    assert store.read(lambda tx: tx.get_payin(payin.id)) == payin
    assert (
        store.read(
            lambda tx: tx.payins_by_bank_ids([payin.bank_transaction_id]).get(
                payin.bank_transaction_id
            )
        )
        == payin
    )
    assert store.read(lambda tx: tx.get_payin("pin_nope")) is None
    assert store.read(lambda tx: tx.payins_by_bank_ids(["nope"]).get("nope")) is None

    entry = post(store, partner.id, [credit(payin.amount_minor, payin_id=payin.id)]).entries[0]
    credited = replace(
        payin,
        status="credited",
        booking_status="booked",
        ledger_entry_id=entry.id,
        updated_at=to_rfc3339(T0 + timedelta(minutes=1)),
    )
    store.write(lambda tx: tx.update_payin(credited))
    assert store.read(lambda tx: tx.get_payin(payin.id)) == credited


def test_payin_rows_are_unique_per_bank_id_and_credited_rows_name_partner_and_entry(
    store: Store,
) -> None:
    partner = insert_partner(store, new_partner())
    payin = new_payin(partner.id, bank_id="BANK-1")
    store.write(lambda tx: tx.insert_payin(payin))
    for bad in (
        replace(new_payin(partner.id, bank_id="BANK-1"), amount_minor=1),  # bank id again
        new_payin(partner.id, status="credited"),  # no ledger entry
        new_payin(None, status="credited"),
        replace(new_payin(partner.id), amount_minor=0),
        replace(new_payin(partner.id), status="lost"),
    ):
        with pytest.raises(IntegrityViolation):
            store.write(lambda tx, p=bad: tx.insert_payin(p))
    assert store.read(lambda tx: tx.list_payins(None, None, Page(10))) == [payin]


def test_payins_list_newest_first_with_partner_and_status_filters(store: Store) -> None:
    one = insert_partner(store, new_partner())
    two = insert_partner(store, new_partner())
    made = [
        new_payin(one.id, now_ms=BASE_MS + 1),
        new_payin(None, status="needs_review", now_ms=BASE_MS + 2),
        new_payin(two.id, now_ms=BASE_MS + 3),
        new_payin(one.id, now_ms=BASE_MS + 4),
        new_payin(None, status="needs_review", now_ms=BASE_MS + 5),
    ]
    for payin in made:
        store.write(lambda tx, p=payin: tx.insert_payin(p))

    def listed(partner_id: str | None, status: str | None, page: Page) -> list[str]:
        return [p.id for p in store.read(lambda tx: tx.list_payins(partner_id, status, page))]

    ids_ = [p.id for p in made]
    assert listed(None, None, Page(100)) == ids_[::-1]
    assert listed(one.id, None, Page(100)) == [ids_[3], ids_[0]]
    assert listed(None, "needs_review", Page(100)) == [ids_[4], ids_[1]]
    assert listed(two.id, "pending_confirmation", Page(100)) == [ids_[2]]
    assert listed(two.id, "needs_review", Page(100)) == []
    assert listed(None, None, Page(2)) == [ids_[4], ids_[3]]
    assert listed(None, None, Page(2, ids_[3])) == [ids_[2], ids_[1]]
    assert listed(None, None, Page(2, ids_[1])) == [ids_[0]]
    assert listed(one.id, None, Page(1, ids_[3])) == [ids_[0]]


# database-level defences --------------------------------------------------------------------
TAMPERING_SQL = [
    "UPDATE ledger_entries SET amount_minor = amount_minor + 1",
    "UPDATE ledger_entries SET reason = 'edited' WHERE sequence = 1",
    "DELETE FROM ledger_entries WHERE sequence = 1",
    "DELETE FROM ledger_entries",
]


def test_the_ledger_table_refuses_update_and_delete_through_the_store(store: Store) -> None:
    partner = insert_partner(store, new_partner())
    posting = post(store, partner.id, [credit(100), credit(200)])
    # SQLite has no TRUNCATE; its "DELETE FROM" form is in the list for both
    extra = ["TRUNCATE ledger_entries"] if store.dialect == "postgres" else []
    for sql in TAMPERING_SQL + extra:
        with pytest.raises(IntegrityViolation, match="append-only"):
            raw(store, sql)
    assert store.read(lambda tx: list(tx.iter_entries(partner.id))) == list(posting.entries)
    assert verify(store).ok


def test_the_ledger_table_refuses_update_and_delete_on_a_direct_connection(
    store: Store,
) -> None:
    partner = insert_partner(store, new_partner())
    posting = post(store, partner.id, [credit(100)])
    for sql in TAMPERING_SQL:
        with direct(store) as execute, pytest.raises(direct_error(store), match="append-only"):
            execute(sql)
    assert store.read(lambda tx: list(tx.iter_entries(partner.id))) == list(posting.entries)


def test_a_second_payin_credit_for_the_same_payin_is_refused_by_the_unique_index(
    store: Store,
) -> None:
    partner = insert_partner(store, new_partner())
    first = post(store, partner.id, [credit(100, payin_id="pin_once")])
    with pytest.raises(IntegrityViolation):
        post(store, partner.id, [credit(100, payin_id="pin_once")])
    state = store.read(lambda tx: tx.ledger_state(partner.id))
    assert state.head == first.head
    assert state.balances["EUR"] == Balance(100, 0)
    assert verify(store).ok


def test_check_constraints_refuse_a_negative_balance_stored_or_in_an_entry(store: Store) -> None:
    partner = insert_partner(store, new_partner())
    funded = post(store, partner.id, [credit(100)])
    for sql in (
        "UPDATE partner_currencies SET available_minor = -1",
        "UPDATE partner_currencies SET reserved_minor = -1",
        "UPDATE partner_currencies SET available_minor = available_minor - 101",
    ):
        with pytest.raises(IntegrityViolation):
            raw(store, sql)
    assert store.read(lambda tx: tx.ledger_state(partner.id)).balances["EUR"] == Balance(100, 0)

    # A posting forged past the domain's overdraft check: the database still refuses it.
    entry = funded.entries[0]
    forged_entry = replace(
        entry,
        id=ids.new_id(ids.LEDGER_ENTRY),
        sequence=2,
        type=BUY_DEBIT,
        amount_minor=-200,
        available_after_minor=-100,
        lines=(Line(AVAILABLE, -200), Line(PLATFORM_VENUE, 200)),
        links=Links(trade_id="pt_forged"),
        prev_hash=entry.hash,
    )
    forged = Posting(
        (forged_entry,),
        LedgerHead(partner.id, 2, "f" * 64),
        {"EUR": Balance(-100, 0)},
    )
    with pytest.raises(IntegrityViolation):
        store.write(lambda tx: tx.append(forged))
    state = store.read(lambda tx: tx.ledger_state(partner.id))
    assert state.head == funded.head
    assert verify(store).ok


def test_an_entry_in_a_currency_the_partner_lacks_is_refused(store: Store) -> None:
    # Invariant 3 (stored balances equal the sum of the entries) must not depend on every
    # caller checking the currency first: the store refuses instead of writing an entry whose
    # balance it has no row to keep.
    partner = insert_partner(store, new_partner(("EUR",)))
    post(store, partner.id, [credit(100)])
    with pytest.raises((AssertionError, IntegrityViolation)):
        post(store, partner.id, [credit(500, "USD")])
    state = store.read(lambda tx: tx.ledger_state(partner.id))
    assert state.head.sequence == 1
    assert [e.currency for e in store.read(lambda tx: list(tx.iter_entries(partner.id)))] == ["EUR"]
    assert verify(store).ok

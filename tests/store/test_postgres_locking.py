"""PostgreSQL row locks: two writers of one partner wait for each other, never deadlock.

Goal: DESIGN.md "Concurrency and speed" — balance changes of one partner are serialized by a
lock on the partner's row, and that lock must not fight the locks PostgreSQL takes by itself.
Inserting a row that references ``partners`` (a pay-in, a trade) takes ``FOR KEY SHARE`` on the
partner row; a head lock of ``FOR UPDATE`` conflicts with it, so two transactions that each
insert such a row and then lock the head deadlock (one is killed after ``deadlock_timeout``
and retried: slow, and an error once retries run out). ``FOR NO KEY UPDATE`` does not conflict.

Method: two threads run the exact order ``record_payin`` uses — insert the pay-in row, then
lock the partner's ledger, append its credit, update the pay-in — held at a barrier between
the insert and the lock on their first attempt, so both inserts exist before either locks. We
count how often each transaction body ran: a deadlock shows up as a re-run. PostgreSQL only
(``pg_url`` fixture): SQLite's ``BEGIN IMMEDIATE`` serializes whole transactions instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from support import opened_store
from zeropools.domain import ids, ledger, references
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.ledger import GENESIS_HASH, Balance
from zeropools.domain.money import Currencies
from zeropools.domain.partners import Partner, PartnerCurrency
from zeropools.domain.payins import Payin
from zeropools.services.verify import verify
from zeropools.store.protocol import Store, Tx

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STAMP = to_rfc3339(NOW)


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    with opened_store(pg_url) as opened:
        yield opened


def _partner() -> Partner:
    partner_id = ids.new_id(ids.PARTNER)
    currency = PartnerCurrency(
        partner_id, "EUR", references.new_creditor_reference(), None, Balance()
    )
    return Partner(partner_id, "Locks", "debit", STAMP, (currency,))


def _payin(partner_id: str, bank_id: str) -> Payin:
    return Payin(
        id=ids.new_id(ids.PAYIN),
        bank_transaction_id=bank_id,
        partner_id=partner_id,
        amount_minor=1_000,
        currency="EUR",
        status="pending_confirmation",
        booking_status="pending",
        reference=None,
        remittance_info=None,
        debtor_name=None,
        debtor_iban=None,
        value_date=None,
        attribution_method="structured_reference",
        attributed_by="system",
        review_reason=None,
        ledger_entry_id=None,
        funding_reference=None,
        request_id="req_locks",
        created_at=STAMP,
        updated_at=STAMP,
    )


def test_two_payins_of_one_partner_inserted_before_locking_do_not_deadlock(
    pg_store: Store,
) -> None:
    partner = _partner()
    pg_store.write(lambda tx: tx.insert_partner(partner, GENESIS_HASH))
    both_inserted = threading.Barrier(2)
    runs = {"A": 0, "B": 0}
    runs_lock = threading.Lock()

    def credit(name: str) -> None:
        def work(tx: Tx) -> None:
            with runs_lock:
                runs[name] += 1
                first_attempt = runs[name] == 1
            payin = _payin(partner.id, f"BANK-{name}")
            tx.insert_payin(payin)  # FOR KEY SHARE on the partner row (foreign key)
            if first_attempt:
                both_inserted.wait(timeout=10)
            state = tx.lock_ledger(partner.id)
            posting = ledger.append(
                state.head,
                state.balances,
                [ledger.payin_credit("EUR", payin.amount_minor or 0, payin.id, None)],
                currencies=Currencies(),
                request_id="req_locks",
                now=NOW,
            )
            tx.append(posting)
            tx.update_payin(
                replace(payin, status="credited", ledger_entry_id=posting.entries[0].id)
            )

        pg_store.write(work)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(credit, name) for name in runs]:
            future.result(timeout=60)

    state = pg_store.read(lambda tx: tx.ledger_state(partner.id))
    assert state.head.sequence == 2
    assert state.balances["EUR"] == Balance(2_000, 0)
    assert verify(pg_store).ok
    # each transaction ran once: the second waited for the first's lock instead of deadlocking
    assert runs == {"A": 1, "B": 1}

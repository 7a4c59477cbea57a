"""The database's own copy of invariant 5: an entry is unwound at most once.

Goal: even a writer that skips the domain (a bug, a manual repair) cannot post two entries that
unwind the same entry, on SQLite and PostgreSQL. Method: a credited partner, a debit, then a
posting of two refunds linking that debit, written straight through ``Tx.append``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from support import onboard, reference_of, send_payin
from zeropools.domain import ledger
from zeropools.domain.ledger import (
    AVAILABLE,
    BUY_DEBIT,
    BUY_REFUND,
    PLATFORM_VENUE,
    EntryDraft,
    Line,
    Links,
)
from zeropools.services.context import Deployment
from zeropools.store.protocol import IntegrityViolation, Tx

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _post(dep: Deployment, partner_id: str, drafts: list[EntryDraft]) -> list[str]:
    def work(tx: Tx) -> list[str]:
        state = tx.lock_ledger(partner_id)
        posting = ledger.append(
            state.head,
            state.balances,
            drafts,
            currencies=dep.currencies,
            request_id="req_index",
            now=NOW,
        )
        tx.append(posting)
        return [entry.id for entry in posting.entries]

    return dep.store.write(work)


def _refund(debit_id: str) -> EntryDraft:
    lines = (Line(AVAILABLE, 1_000), Line(PLATFORM_VENUE, -1_000))
    links = Links(trade_id="pt_test_idx", related_entry_id=debit_id)
    return EntryDraft(BUY_REFUND, "EUR", lines, links)


def test_a_second_entry_unwinding_the_same_entry_is_refused(dep: Deployment) -> None:
    partner = onboard(dep)
    send_payin(dep, "bank-idx", "100.00", reference=reference_of(partner))
    debit = EntryDraft(
        BUY_DEBIT,
        "EUR",
        (Line(AVAILABLE, -2_000), Line(PLATFORM_VENUE, 2_000)),
        Links(trade_id="pt_test_idx"),
    )
    [debit_id] = _post(dep, partner.partner.id, [debit])
    _post(dep, partner.partner.id, [_refund(debit_id)])

    with pytest.raises(IntegrityViolation):
        _post(dep, partner.partner.id, [_refund(debit_id)])
    state = dep.store.read(lambda tx: tx.ledger_state(partner.partner.id))
    assert state.head.sequence == 3  # credit, debit, one refund

"""``verify(jobs=N)`` splits a large partner's chain into ranges and reports what one replay does.

Goal (issue 13): one hot partner must use every worker, so a long chain is checked as ranges,
each starting from the stored entry before it; the report must still be the serial one. Two
things cross a range's start: the balances a replay carries (a broken balance makes every later
row differ from the replay) and the entries still unwindable (a refund in one range of a debit
in another). Both are settled when the ranges are put together: a range whose replay could not
start where the previous one ended is replayed again from there, and unwinds of entries before
a range are settled against the whole ledger.

Method: one partner with pay-ins (events publishing heads), then 60 entries of debits, refunds
linking debits up to 25 entries back, reserves and their releases; ranges forced by lowering
``SPLIT_ENTRIES_MIN`` (read by the parent, which plans the ranges) and three workers. Serial
and parallel reports are compared field by field, healthy and after each tampering: a balance
where a range starts, a refund naming an entry that does not exist, a refund naming a later
entry, a refund naming a debit another refund already gave back.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_verify_service import drop_append_only_triggers, raw

from support import ctx_for, onboard, reference_of, send_payin
from zeropools.bootstrap import open_database
from zeropools.domain.ledger import (
    AVAILABLE,
    BUY_DEBIT,
    BUY_REFUND,
    PLATFORM_VENUE,
    RESERVED,
    TRADE_RELEASE,
    TRADE_RESERVE,
    EntryDraft,
    LedgerEntry,
    Line,
    Links,
)
from zeropools.services import verify as verify_module
from zeropools.services.context import Deployment
from zeropools.services.ledger import post
from zeropools.services.verify import VerifyReport, verify

JOBS = 3


def busy_partner(dep: Deployment) -> str:
    """Pay-ins, then debits, refunds of earlier debits (some far back), reserves, releases."""
    partner = onboard(dep, name="Hot")
    for n in range(3):
        send_payin(dep, f"HOT-{n}", "500.00", reference=reference_of(partner))
    partner_id = partner.partner.id
    debits: list[LedgerEntry] = []
    for step in range(20):
        drafts = [
            EntryDraft(
                BUY_DEBIT,
                "EUR",
                (Line(AVAILABLE, -(100 + step)), Line(PLATFORM_VENUE, 100 + step)),
                Links(trade_id=f"pt_d{step}"),
            ),
            EntryDraft(
                TRADE_RESERVE,
                "EUR",
                (Line(AVAILABLE, -7), Line(RESERVED, 7)),
                Links(trade_id=f"pt_r{step}"),
            ),
        ]
        if step % 3 == 2:  # refund a debit posted up to eight steps earlier
            back = debits[max(0, len(debits) - 8)]
            debits.remove(back)
            drafts.append(
                EntryDraft(
                    BUY_REFUND,
                    "EUR",
                    (Line(AVAILABLE, -back.amount_minor), Line(PLATFORM_VENUE, back.amount_minor)),
                    Links(trade_id=back.links.trade_id, related_entry_id=back.id),
                )
            )
        posted = dep.store.write(lambda tx, d=drafts: post(dep, ctx_for(), tx, partner_id, d))
        debits.append(posted.entries[0])
        reserve = posted.entries[1]
        release = EntryDraft(
            TRADE_RELEASE,
            "EUR",
            (Line(RESERVED, -7), Line(AVAILABLE, 7)),
            Links(trade_id=reserve.links.trade_id, related_entry_id=reserve.id),
        )
        dep.store.write(lambda tx, d=[release]: post(dep, ctx_for(), tx, partner_id, d))
    return partner_id


@pytest.fixture
def ranges(monkeypatch: pytest.MonkeyPatch) -> Callable[[Deployment], VerifyReport]:
    monkeypatch.setattr(verify_module, "SPLIT_ENTRIES_MIN", 10)

    def parallel(dep: Deployment) -> VerifyReport:
        return verify(dep.store, jobs=JOBS, opener=open_database)

    return parallel


def same(parallel: VerifyReport, serial: VerifyReport) -> None:
    assert parallel.problems == serial.problems
    assert (
        parallel.partners,
        parallel.entries,
        parallel.trades,
        parallel.payins,
        parallel.heads,
    ) == (serial.partners, serial.entries, serial.trades, serial.payins, serial.heads)


def refunds(dep: Deployment, partner_id: str) -> list[tuple[int, str]]:
    """The refunds' sequences and the debits they name, in chain order."""
    rows = dep.store.read(lambda tx: list(tx.iter_entries(partner_id)))
    return [(e.sequence, str(e.links.related_entry_id)) for e in rows if e.type == BUY_REFUND]


def test_ranges_of_a_healthy_chain_report_it_clean(
    dep: Deployment, ranges: Callable[[Deployment], VerifyReport]
) -> None:
    partner_id = busy_partner(dep)
    serial = verify(dep.store)
    assert serial.ok and serial.heads > 0, serial.problems
    same(ranges(dep), serial)
    # the chain is long enough for each worker's range to hold refunds of earlier ranges
    length = dep.store.read(lambda tx: tx.ledger_head(partner_id).sequence)
    assert length >= 60 and any(s > length // JOBS for s, _ in refunds(dep, partner_id))


@pytest.mark.parametrize("tampering", ["balance", "missing", "later", "twice"])
def test_ranges_of_a_tampered_chain_report_what_one_replay_reports(
    dep: Deployment, ranges: Callable[[Deployment], VerifyReport], tampering: str
) -> None:
    partner_id = busy_partner(dep)
    found = refunds(dep, partner_id)
    last_refund, first_debit = found[-1][0], found[0][1]
    drop_append_only_triggers(dep)
    if tampering == "balance":
        # the entry a range starts after: that range assumes the stored (wrong) balance, the
        # replay carries the right one, so the range is replayed again from the replay's end
        length = dep.store.read(lambda tx: tx.ledger_head(partner_id).sequence)
        raw(
            dep,
            "UPDATE ledger_entries SET available_after_minor = available_after_minor + 1 "
            "WHERE partner_id = %s AND sequence = %s",
            (partner_id, length // JOBS),
        )
    else:
        raw(dep, "DROP INDEX ledger_entries_unwound_once")
        last = dep.store.read(lambda tx: list(tx.iter_entries(partner_id)))[-1]
        related = {"missing": "ple_nope", "later": last.id, "twice": first_debit}[tampering]
        raw(
            dep,
            "UPDATE ledger_entries SET related_entry_id = %s "
            "WHERE partner_id = %s AND sequence = %s",
            (related, partner_id, last_refund),
        )
    serial = verify(dep.store)
    assert not serial.ok
    if tampering != "balance":
        assert any(
            p.field == "related_entry_id" and p.sequence == last_refund for p in serial.problems
        )
    same(ranges(dep), serial)


@pytest.mark.parametrize("tampering", [None, "balance"])
def test_more_ranges_than_workers_report_what_one_replay_reports(
    dep: Deployment,
    ranges: Callable[[Deployment], VerifyReport],
    monkeypatch: pytest.MonkeyPatch,
    tampering: str | None,
) -> None:
    """Ranges are no longer than ``RANGE_ENTRIES_MAX`` (so the workers finish together): a
    chain of 60+ entries at 7 per range is checked as 9 or more ranges by three workers."""
    monkeypatch.setattr(verify_module, "RANGE_ENTRIES_MAX", 7)
    partner_id = busy_partner(dep)
    length = dep.store.read(lambda tx: tx.ledger_head(partner_id).sequence)
    count = verify_module._ranges(length, JOBS)
    assert count > 2 * JOBS
    if tampering == "balance":  # where the third range starts
        drop_append_only_triggers(dep)
        raw(
            dep,
            "UPDATE ledger_entries SET available_after_minor = available_after_minor + 1 "
            "WHERE partner_id = %s AND sequence = %s",
            (partner_id, length * 2 // count),
        )
    serial = verify(dep.store)
    assert serial.ok is (tampering is None), serial.problems
    same(ranges(dep), serial)

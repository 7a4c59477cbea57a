"""``verify``: replaying every partner's ledger from the database, and catching tampering.

Goal: a healthy ledger of many entries across several partners verifies clean; each kind of
tampering a database user could do — rewriting an entry once the append-only trigger is dropped,
deleting one, editing a stored balance or the stored head, giving a trade or a pay-in a status
its entries do not bear out — is reported against the right partner (and trade or pay-in); and
a verify run sees each partner as one consistent snapshot even while credits commit (otherwise
``zeropools verify`` on a live database reports problems that are not there).

Method: real deployments on both stores; credits through ``record_payin`` and bulk postings
through ``services.ledger.post``; tampering with raw SQL in a store transaction (dropping the
trigger first where the ledger table needs it; trades and pay-ins have none); the snapshot check
interposes a commit from another connection between verify's reads of the entries and of the
head.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from support import ctx_for, entries_of, onboard, reference_of, send_payin
from zeropools.domain import ids, ledger
from zeropools.services import dispatch, trading
from zeropools.services.commands import ReturnPayin
from zeropools.services.context import Deployment
from zeropools.services.ledger import post
from zeropools.services.verify import verify
from zeropools.store.protocol import IntegrityViolation, LedgerState, Store, Tx

T = TypeVar("T")
BULK_ENTRIES = 1200  # more than one batch of the store's entry iterator


def raw(dep: Deployment, sql: str, params: tuple[Any, ...] = ()) -> None:
    dep.store.write(lambda tx: tx._run(sql, params))  # type: ignore[attr-defined]


def drop_append_only_triggers(dep: Deployment) -> None:
    if dep.store.dialect == "sqlite":
        raw(dep, "DROP TRIGGER ledger_entries_no_update")
        raw(dep, "DROP TRIGGER ledger_entries_no_delete")
    else:
        raw(dep, "DROP TRIGGER ledger_entries_append_only ON ledger_entries")


def healthy_ledger(dep: Deployment) -> tuple[str, str]:
    """Two partners: one with a bulk posting and pay-ins, one with a few pay-ins."""
    big, small = onboard(dep, name="Big"), onboard(dep, currencies=("EUR", "USD"), name="Small")
    ctx = ctx_for()
    drafts = [
        ledger.payin_credit("EUR", 100 + i, ids.new_id(ids.PAYIN), None)
        for i in range(BULK_ENTRIES)
    ]
    dep.store.write(lambda tx: post(dep, ctx, tx, big.partner.id, drafts))
    for n in range(5):
        send_payin(dep, f"BIG-{n}", f"{n + 1}.00", reference=reference_of(big))
        send_payin(dep, f"SMALL-{n}", "10", reference=reference_of(small))
    send_payin(dep, "SMALL-USD", "3.50", currency="USD", reference=reference_of(small, "USD"))
    return big.partner.id, small.partner.id


def test_a_healthy_ledger_with_many_entries_verifies_clean(dep: Deployment) -> None:
    empty = verify(dep.store)
    assert (empty.ok, empty.partners, empty.entries) == (True, 0, 0)
    big, small = healthy_ledger(dep)
    seen: list[str] = []
    report = verify(dep.store, on_partner=seen.append)
    assert report.ok, report.problems
    assert report.partners == 2 and sorted(seen) == sorted([big, small])
    assert report.entries == BULK_ENTRIES + 5 + 6
    assert [e.sequence for e in entries_of(dep, big)] == list(range(1, BULK_ENTRIES + 6))


def test_entries_rewritten_or_deleted_behind_the_triggers_back_are_reported(
    dep: Deployment,
) -> None:
    big, small = healthy_ledger(dep)
    with pytest.raises(IntegrityViolation, match="append-only"):
        raw(dep, "UPDATE ledger_entries SET amount_minor = 1 WHERE sequence = 2")
    drop_append_only_triggers(dep)
    raw(
        dep,
        "UPDATE ledger_entries SET amount_minor = amount_minor + 100000 "
        "WHERE partner_id = %s AND sequence = %s",
        (small, 2),
    )
    raw(dep, "DELETE FROM ledger_entries WHERE partner_id = %s AND sequence = %s", (big, 700))
    report = verify(dep.store)
    assert not report.ok
    text = "\n".join(map(str, report.problems))

    # the rewritten amount: only that entry of that partner, the replay carries on past it
    assert {p.sequence for p in report.problems if p.partner_id == small} == {2}
    rewritten = next(e.id for e in entries_of(dep, small) if e.sequence == 2)
    assert f"{small} {rewritten} (#2): hash does not match" in text
    assert (
        f"{small} {rewritten} (#2): amount 1010.00 EUR differs from its lines (10.00 EUR)" in text
    )
    assert report.entries == BULK_ENTRIES + 11 - 1

    # the deleted entry: a gap, a broken link, and a head and balance the entries do not reach
    assert "(#701): sequence gap: expected 700, found 701" in text
    assert "(#701): prev_hash does not match" in text
    assert f"{big} balance EUR: available " in text
    assert {p.partner_id for p in report.problems} == {big, small}


def test_a_stored_balance_or_head_edited_without_an_entry_is_reported(dep: Deployment) -> None:
    big, small = healthy_ledger(dep)
    # partner_currencies and partners have no append-only trigger: only verify guards them
    raw(
        dep,
        "UPDATE partner_currencies SET available_minor = available_minor + 1 "
        "WHERE partner_id = %s AND currency = %s",
        (small, "USD"),
    )
    raw(dep, "UPDATE partners SET ledger_sequence = ledger_sequence - 1 WHERE id = %s", (big,))
    report = verify(dep.store)
    by_partner = {p.partner_id: str(p) for p in report.problems}
    assert len(report.problems) == 2
    assert by_partner[small] == (
        f"{small} balance USD: available 3.50 USD by the entries, stored 3.51 USD"
    )
    assert by_partner[big].startswith(f"{big} head: stored head #{BULK_ENTRIES + 4} ")


class _CommitBeforeHeadRead:
    """A store whose read transactions let another connection commit a credit right after
    verify has read a partner's entries and before it reads the partner's head."""

    def __init__(self, inner: Store, credit: Callable[[], None]) -> None:
        self._inner = inner
        self._credit = credit
        self.url, self.dialect = inner.url, inner.dialect
        self.credits = 0

    def read(self, work: Callable[[Tx], T]) -> T:
        outer = self

        class Interposed:
            def __init__(self, tx: Tx) -> None:
                self._tx = tx

            def __getattr__(self, name: str) -> Any:
                return getattr(self._tx, name)

            def iter_entries(self, partner_id: str) -> Iterator[Any]:
                return self._tx.iter_entries(partner_id)

            def ledger_state(self, partner_id: str) -> LedgerState:
                # another thread means another connection on both stores
                worker = threading.Thread(target=outer._credit)
                worker.start()
                worker.join()
                outer.credits += 1
                return self._tx.ledger_state(partner_id)

        return self._inner.read(lambda tx: work(Interposed(tx)))  # type: ignore[arg-type]


def test_verify_reads_each_partner_from_one_consistent_snapshot_while_credits_commit(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    for n in range(3):
        send_payin(dep, f"BANK-{n}", "10", reference=reference_of(new))
    errors: list[BaseException] = []
    sent = iter(range(100, 200))

    def credit() -> None:
        try:
            send_payin(dep, f"BANK-{next(sent)}", "1", reference=reference_of(new))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    racing = _CommitBeforeHeadRead(dep.store, credit)
    report = verify(racing)  # type: ignore[arg-type]
    assert errors == []
    assert racing.credits == 1
    assert len(entries_of(dep, new.partner.id)) == 4  # the credit did commit meanwhile
    # The ledger is healthy: whatever verify saw must be one moment of it.
    assert report.ok, [str(p) for p in report.problems]
    assert report.entries == 3
    assert verify(dep.store).ok


def test_a_trade_or_payin_whose_status_disagrees_with_its_entries_is_reported(
    dep: Deployment,
) -> None:
    """Trades and pay-ins are checked against their entries too: a status is a claim about
    money, and the entries are the money. Tampered with raw SQL (neither table is append-only:
    their rows move through statuses), each lie is reported against the right id."""
    new = onboard(dep)
    partner_id = new.partner.id
    send_payin(dep, "FUND", "1000.00", reference=reference_of(new))
    recalled = send_payin(dep, "RECALLED", "5.00", reference=reference_of(new)).payin
    server = ctx_for("partner_server", partner_id)

    def execute(amount: str, order: str) -> str:
        quote = trading.create_quote(
            dep, server, pool_id="EUR-USDT", source_amount=amount, partner_order_id=None
        )
        view = trading.execute_trade(dep, server, quote_id=quote.quote.id, partner_order_id=order)
        return view.trade.id

    failed, settled = execute("50.00", "o-failed"), execute("20.00", "o-settled")
    trading.move_trade(dep, ctx_for(), failed, "failed", reason="venue down")
    trading.move_trade(dep, ctx_for(), settled, "settled")
    dispatch.apply(dep, ctx_for(), ReturnPayin(recalled.id, "bank recall"))
    healthy = verify(dep.store)
    assert healthy.ok, healthy.problems
    assert (healthy.trades, healthy.payins) == (2, 2)

    # the refunded trade claims it settled; the settled one claims a return that never posted
    raw(dep, "UPDATE trades SET status = 'settled' WHERE id = %s", (failed,))
    raw(dep, "UPDATE trades SET status = 'returned' WHERE id = %s", (settled,))
    # the recalled pay-in claims it is still credited
    raw(dep, "UPDATE payins SET status = 'credited' WHERE id = %s", (recalled.id,))
    report = verify(dep.store)
    by_subject = {p.subject: str(p) for p in report.problems}
    assert set(by_subject) == {failed, settled, recalled.id}, report.problems
    assert "is settled but has entries ['buy_debit', 'buy_refund']" in by_subject[failed]
    assert "is returned but has entries ['buy_debit']" in by_subject[settled]
    assert (
        "is credited but has entries ['payin_credit', 'payin_reversal']" in by_subject[recalled.id]
    )
    assert by_subject[failed].startswith(f"{partner_id} {failed}: trade {failed}")

"""Recording bank credits: credit once when booked and attributed, otherwise wait or park.

Goal: invariant 6 of DESIGN.md ("credit only for confirmed funding; a pay-in credits at most
once") and the attribution rules of "Funding and attribution", as a partner and an operator see
them: the pay-in's status, the partner's balance and its ledger entries.

Method: drive ``services.payins`` (notification validation + ``record_payin``) on a real
deployment of each store, then read balances through ``services.balances`` and entries through
the store; every refusal is checked to have changed nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from support import balance_minor, ctx_for, entries_of, onboard, reference_of, send_payin
from zeropools.domain import references
from zeropools.domain.errors import (
    AmountInvalid,
    AmountOutOfRange,
    AmountPrecisionExceeded,
    CurrencyNotEnabled,
    NotFound,
    PayinConflict,
    ValidationFailed,
)
from zeropools.domain.ledger import EntryFilter
from zeropools.domain.money import format_amount
from zeropools.domain.paging import Page
from zeropools.services import payins as payin_service
from zeropools.services.balances import get_balance
from zeropools.services.context import Deployment
from zeropools.services.ledger import get_entry, list_entries
from zeropools.services.verify import verify

HEX64 = re.compile(r"[0-9a-f]{64}")


def available_minor(dep: Deployment, partner_id: str, currency: str = "EUR") -> int:
    available, _reserved = balance_minor(dep, partner_id, currency)
    return available


def test_a_booked_payin_with_the_exact_reference_credits_the_partner(dep: Deployment) -> None:
    new = onboard(dep)
    partner_id, reference = new.partner.id, reference_of(new)
    ctx = ctx_for()
    recorded = send_payin(dep, "BANK-1", "1000", reference=reference, ctx=ctx)

    assert recorded.created is True
    payin = recorded.payin
    assert payin.id.startswith("pin_")
    assert (payin.status, payin.booking_status) == ("credited", "booked")
    assert (payin.partner_id, payin.funding_reference) == (partner_id, reference)
    assert (payin.attribution_method, payin.attributed_by) == ("structured_reference", "system")
    assert payin.review_reason is None
    assert payin.amount_minor == 100_000
    assert payin.request_id == ctx.request_id

    balance = get_balance(dep, ctx_for("partner_server", partner_id), None, "EUR")
    assert format_amount(balance.available_minor, 2) == "1000.00"
    assert (balance.reserved_minor, balance.total_minor) == (0, 100_000)

    [entry] = entries_of(dep, partner_id)
    assert entry.id == payin.ledger_entry_id
    assert (entry.type, entry.sequence, entry.currency) == ("payin_credit", 1, "EUR")
    assert (entry.amount_minor, entry.available_after_minor) == (100_000, 100_000)
    assert HEX64.fullmatch(entry.hash)
    assert entry.request_id == ctx.request_id
    assert (entry.links.payin_id, entry.links.funding_reference) == (payin.id, reference)
    partner_ctx = ctx_for("partner_admin", partner_id)
    assert get_entry(dep, partner_ctx, entry.id) == entry
    assert list_entries(dep, partner_ctx, None, EntryFilter(), Page(10)) == [entry]
    assert payin_service.get_payin(dep, partner_ctx, payin.id) == payin
    assert verify(dep.store).ok


def test_a_resent_booked_payin_credits_only_once(dep: Deployment) -> None:
    new = onboard(dep)
    first = send_payin(dep, "BANK-1", "1000.00", reference=reference_of(new))
    for booking in ("booked", "pending", "booked"):
        again = send_payin(
            dep, "BANK-1", "1000.0", booking_status=booking, reference=reference_of(new)
        )
        assert again.created is False
        assert again.payin == first.payin
    assert len(entries_of(dep, new.partner.id)) == 1
    assert available_minor(dep, new.partner.id) == 100_000


def test_a_pending_payin_waits_and_booking_it_credits_once(dep: Deployment) -> None:
    new = onboard(dep)
    partner_id = new.partner.id
    pending = send_payin(
        dep, "BANK-1", "250.50", booking_status="pending", reference=reference_of(new)
    )
    assert pending.created is True
    assert (pending.payin.status, pending.payin.booking_status) == (
        "pending_confirmation",
        "pending",
    )
    assert pending.payin.partner_id == partner_id  # attributed already, credited later
    assert pending.payin.ledger_entry_id is None
    assert entries_of(dep, partner_id) == []
    assert available_minor(dep, partner_id) == 0

    still_pending = send_payin(
        dep, "BANK-1", "250.50", booking_status="pending", reference=reference_of(new)
    )
    assert (still_pending.created, still_pending.payin) == (False, pending.payin)

    booking_ctx = ctx_for()
    booked = send_payin(dep, "BANK-1", "250.50", reference=reference_of(new), ctx=booking_ctx)
    assert booked.created is False
    assert (booked.payin.status, booked.payin.booking_status) == ("credited", "booked")
    assert booked.payin.id == pending.payin.id
    [entry] = entries_of(dep, partner_id)
    assert (entry.sequence, entry.amount_minor) == (1, 25_050)
    assert entry.request_id == booking_ctx.request_id  # the request that caused the credit
    assert booked.payin.ledger_entry_id == entry.id

    for booking in ("booked", "pending"):
        again = send_payin(
            dep, "BANK-1", "250.50", booking_status=booking, reference=reference_of(new)
        )
        assert (again.created, again.payin) == (False, booked.payin)
    assert len(entries_of(dep, partner_id)) == 1
    assert available_minor(dep, partner_id) == 25_050


CONFLICTS = [
    ("999.99", "EUR", ["amount"]),
    ("1000.00", "USD", ["currency"]),
    ("5", "USD", ["amount", "currency"]),
]


def test_the_same_bank_id_with_other_money_is_a_conflict_and_changes_nothing(
    dep: Deployment,
) -> None:
    new = onboard(dep, currencies=("EUR", "USD"))
    for first_booking in ("booked", "pending"):
        bank_id = f"BANK-{first_booking}"
        first = send_payin(
            dep, bank_id, "1000.00", booking_status=first_booking, reference=reference_of(new)
        )
        entries_before = entries_of(dep, new.partner.id)
        for amount, currency, differences in CONFLICTS:
            with pytest.raises(PayinConflict) as caught:
                send_payin(dep, bank_id, amount, currency=currency, reference=reference_of(new))
            assert caught.value.code == "payin_conflict"
            assert caught.value.extra == {"payin_id": first.payin.id, "differences": differences}
            assert (
                dep.store.read(lambda tx, b=bank_id: tx.payins_by_bank_ids([b]).get(b))
                == first.payin
            )
            assert entries_of(dep, new.partner.id) == entries_before
    assert available_minor(dep, new.partner.id) == 100_000  # only the booked one credited
    assert verify(dep.store).ok


def test_a_resend_with_the_corrected_reference_credits_a_parked_payin_once(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    partner_id = new.partner.id
    parked = send_payin(dep, "BANK-FIX", "40.00", reference="RF..")
    assert (parked.payin.status, parked.payin.partner_id) == ("needs_review", None)

    ctx = ctx_for()
    fixed = send_payin(dep, "BANK-FIX", "40.00", reference=reference_of(new), ctx=ctx)
    assert (fixed.created, fixed.attributed_now) == (False, True)
    assert (fixed.payin.id, fixed.payin.status) == (parked.payin.id, "credited")
    assert (fixed.payin.partner_id, fixed.payin.reference) == (partner_id, reference_of(new))
    assert (fixed.payin.attribution_method, fixed.payin.attributed_by) == (
        "structured_reference",
        "system",
    )
    assert fixed.payin.review_reason is None
    [entry] = entries_of(dep, partner_id)
    assert (entry.type, entry.amount_minor, entry.request_id) == (
        "payin_credit",
        4_000,
        ctx.request_id,
    )
    assert fixed.payin.ledger_entry_id == entry.id

    again = send_payin(dep, "BANK-FIX", "40.00", reference=reference_of(new))
    assert (again.created, again.attributed_now, again.payin) == (False, False, fixed.payin)
    assert available_minor(dep, partner_id) == 4_000
    assert verify(dep.store).ok  # suspense in and out, one credit


def test_a_corrected_reference_attributes_a_pending_payin_that_booking_then_credits(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    send_payin(dep, "BANK-P", "12.00", booking_status="pending", reference="RF00 NOPE")
    named = send_payin(
        dep, "BANK-P", "12.00", booking_status="pending", reference=reference_of(new)
    )
    assert (named.payin.status, named.payin.partner_id) == (
        "pending_confirmation",
        new.partner.id,
    )
    assert entries_of(dep, new.partner.id) == []  # not booked: no money yet
    booked = send_payin(dep, "BANK-P", "12.00", reference=reference_of(new))
    assert (booked.payin.status, booked.booked_now) == ("credited", True)
    assert available_minor(dep, new.partner.id) == 1_200


def test_another_reference_for_an_attributed_payin_or_one_naming_nobody_is_a_conflict(
    dep: Deployment,
) -> None:
    first, second = onboard(dep), onboard(dep)
    credited = send_payin(dep, "BANK-A", "10.00", reference=reference_of(first))
    parked = send_payin(dep, "BANK-B", "10.00", reference="RF..")
    cases = [
        ("BANK-A", reference_of(second), credited.payin),  # moving credited money: never
        ("BANK-B", "RF00 STILL WRONG", parked.payin),  # names nobody: saying 200 would lie
    ]
    for bank_id, reference, before in cases:
        with pytest.raises(PayinConflict) as caught:
            send_payin(dep, bank_id, "10.00", reference=reference)
        assert caught.value.extra == {"payin_id": before.id, "differences": ["reference"]}
        assert dep.store.read(lambda tx, b=bank_id: tx.payins_by_bank_ids([b]).get(b)) == before
    # the same reference written another way, or none at all, is the same pay-in
    spaced = references.format_printed(reference_of(first)).lower()
    for reference in (spaced, None):
        again = send_payin(dep, "BANK-A", "10.00", reference=reference)
        assert (again.created, again.payin) == (False, credited.payin)
    assert available_minor(dep, first.partner.id) == 1_000
    assert entries_of(dep, second.partner.id) == []


def _typo(reference: str) -> str:
    # change one body character to another of the same class: the check digits must catch it
    position = len(reference) - 1
    original = reference[position]
    pool = "23456789" if original.isdigit() else "ABCDEFGHJKMNPQRSTUVWXYZ"
    replacement = next(ch for ch in pool if ch != original)
    return reference[:position] + replacement


def test_a_payin_without_a_certain_owner_is_parked_for_review(dep: Deployment) -> None:
    new = onboard(dep, currencies=("EUR",))
    bystander = onboard(dep, currencies=("USD",), name="Bystander")
    cases: list[tuple[str | None, str, str]] = [
        (references.new_creditor_reference(), "EUR", "unknown reference"),
        (_typo(reference_of(new)), "EUR", "check digits fail"),
        ("INVOICE 42", "EUR", "not an RF creditor reference"),
        (reference_of(new), "USD", "reference is for EUR, pay-in is USD"),
        (reference_of(bystander, "USD"), "EUR", "reference is for USD, pay-in is EUR"),
        (None, "EUR", "no payment reference"),
        ("", "EUR", "no payment reference"),
    ]
    parked = []
    for number, (reference, currency, expected_reason) in enumerate(cases):
        recorded = send_payin(
            dep, f"BANK-{number}", "75.00", currency=currency, reference=reference
        )
        payin = recorded.payin
        assert recorded.created is True
        assert (payin.status, payin.booking_status) == ("needs_review", "booked"), reference
        # reasons are for operators: match the part that names the cause
        assert payin.review_reason is not None and expected_reason in payin.review_reason
        assert payin.partner_id is None and payin.ledger_entry_id is None
        assert payin.funding_reference is None and payin.attribution_method is None
        again = send_payin(dep, f"BANK-{number}", "75.00", currency=currency, reference=reference)
        assert (again.created, again.payin) == (False, payin)
        parked.append(payin)
    for partner in (new, bystander):
        assert entries_of(dep, partner.partner.id) == []
        state = dep.store.read(lambda tx, p=partner: tx.ledger_state(p.partner.id))
        assert state.head.sequence == 0
        assert all(balance.available_minor == 0 for balance in state.balances.values())
    review = payin_service.list_payins(dep, ctx_for(), None, "needs_review", Page(100))
    assert sorted(p.id for p in review) == sorted(p.id for p in parked)

    # an unattributable pending pay-in waits like any other, and parks once booked
    unknown = references.new_creditor_reference()
    pending = send_payin(dep, "BANK-U", "10", booking_status="pending", reference=unknown)
    assert pending.payin.status == "pending_confirmation"
    assert pending.payin.review_reason is not None
    assert "unknown reference" in pending.payin.review_reason
    booked = send_payin(dep, "BANK-U", "10", reference=unknown)
    assert (booked.created, booked.payin.status) == (False, "needs_review")
    assert booked.payin.booking_status == "booked"
    assert verify(dep.store).ok


def test_a_reference_typed_with_spaces_and_lowercase_still_credits(dep: Deployment) -> None:
    new = onboard(dep)
    typed = references.format_printed(reference_of(new)).lower()
    recorded = send_payin(dep, "BANK-1", "20", reference=f" {typed} ")
    assert recorded.payin.status == "credited"
    assert recorded.payin.funding_reference == reference_of(new)
    assert recorded.payin.reference == f" {typed} "  # what the bank sent is kept as sent
    assert available_minor(dep, new.partner.id) == 2_000


def test_each_partner_is_credited_by_its_own_reference_only(dep: Deployment) -> None:
    one = onboard(dep, currencies=("EUR", "USD"), name="One")
    two = onboard(dep, currencies=("EUR",), name="Two")
    send_payin(dep, "B-1", "100", reference=reference_of(one))
    send_payin(dep, "B-2", "30", currency="USD", reference=reference_of(one, "USD"))
    send_payin(dep, "B-3", "7.25", reference=reference_of(two))
    send_payin(dep, "B-4", "1", reference=reference_of(two))
    assert available_minor(dep, one.partner.id) == 10_000
    assert available_minor(dep, one.partner.id, "USD") == 3_000
    assert available_minor(dep, two.partner.id) == 825
    assert [e.sequence for e in entries_of(dep, one.partner.id)] == [1, 2]
    assert [e.sequence for e in entries_of(dep, two.partner.id)] == [1, 2]
    one_admin = ctx_for("partner_admin", one.partner.id)
    listed = payin_service.list_payins(dep, one_admin, None, None, Page(10))
    assert {p.bank_transaction_id for p in listed} == {"B-1", "B-2"}
    with pytest.raises(NotFound):
        payin_service.list_payins(dep, one_admin, two.partner.id, None, Page(10))
    two_payin = dep.store.read(lambda tx: tx.payins_by_bank_ids(["B-3"]).get("B-3"))
    assert two_payin is not None
    with pytest.raises(NotFound):
        payin_service.get_payin(dep, one_admin, two_payin.id)
    report = verify(dep.store)
    assert (report.ok, report.partners, report.entries) == (True, 2, 4)


# a currency that is not even a code may be refused as a schema error or as not enabled
NOT_A_CURRENCY = (ValidationFailed, CurrencyNotEnabled)
INVALID_NOTIFICATIONS: list[tuple[dict[str, object], Any]] = [
    ({"amount": 100}, AmountInvalid),
    ({"amount": 100.5}, AmountInvalid),
    ({"amount": "1e3"}, AmountInvalid),
    ({"amount": "-5"}, AmountInvalid),
    ({"amount": "0.00"}, AmountInvalid),
    ({"amount": "100.505"}, AmountPrecisionExceeded),
    ({"amount": "100.500"}, AmountPrecisionExceeded),
    ({"currency": "XYZ"}, CurrencyNotEnabled),
    ({"currency": "JPYX"}, CurrencyNotEnabled),
    ({"currency": None}, NOT_A_CURRENCY),
    ({"currency": "eur"}, NOT_A_CURRENCY),
    ({"amount": "9" * 5000}, (AmountInvalid, AmountOutOfRange)),
    ({"bank_transaction_id": ""}, ValidationFailed),
    ({"bank_transaction_id": "x" * 201}, ValidationFailed),
    ({"bank_transaction_id": 42}, ValidationFailed),
    ({"booking_status": "settled"}, ValidationFailed),
    ({"remittance_info": "x" * 1001}, ValidationFailed),
]


def test_an_invalid_notification_is_refused_before_anything_is_recorded(
    dep: Deployment,
) -> None:
    for fields, error in INVALID_NOTIFICATIONS:
        arguments: dict[str, object] = {
            "bank_transaction_id": "BANK-1",
            "amount": "100.00",
            "currency": "EUR",
            "booking_status": "booked",
            **fields,
        }
        with pytest.raises(error):
            payin_service.notification(dep, **arguments)  # type: ignore[arg-type]
    assert payin_service.list_payins(dep, ctx_for(), None, None, Page(10)) == []


def test_payin_lists_filter_by_status_and_refuse_unknown_statuses(dep: Deployment) -> None:
    new = onboard(dep)
    send_payin(dep, "B-1", "1", reference=reference_of(new))
    send_payin(dep, "B-2", "2", booking_status="pending", reference=reference_of(new))
    send_payin(dep, "B-3", "3")
    operator = ctx_for()

    def listed(status: str | None) -> list[str]:
        found = payin_service.list_payins(dep, operator, None, status, Page(10))
        return [p.bank_transaction_id for p in found]

    assert sorted(listed(None)) == ["B-1", "B-2", "B-3"]
    assert listed("credited") == ["B-1"]
    assert listed("pending_confirmation") == ["B-2"]
    assert listed("needs_review") == ["B-3"]
    with pytest.raises(ValidationFailed):
        listed("lost")

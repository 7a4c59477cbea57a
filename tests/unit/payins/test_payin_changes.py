"""The pure pay-in steps and the journals each returns for the service to write.

Goal: every step returns the pay-in after it and exactly the journals "Balance semantics" and
"Funding and attribution" imply: a credit carries the pay-in id and the funding reference and
comes from the bank (on booking) or from suspense (an operator's attribution); parking and
returning from review move money between the platform's bank and suspense accounts only; a
recall is a ``payin_reversal`` linked to the credit. Every journal balances, every path a pay-in
can take nets the accounts as the story says, and nothing here reads the clock.

Method: build pay-ins with ``open_payin`` from notifications and a dictionary of reference
owners, step them through every path the table allows, and sum the journals' lines by account
(suspense moves made into journals with ``ledger.suspense_entry``, as the service does);
hypothesis varies the amount. Refusals are checked to carry the API's codes and words.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zeropools.domain import ledger, limits, references
from zeropools.domain.errors import (
    AmountPrecisionExceeded,
    CurrencyNotEnabled,
    InsufficientBalance,
    InvalidTransition,
)
from zeropools.domain.ledger import (
    AVAILABLE,
    GENESIS_HASH,
    PLATFORM_BANK,
    PLATFORM_SUSPENSE,
    SUSPENSE_PARK,
    SUSPENSE_RETURN,
    Balance,
    LedgerHead,
    Line,
)
from zeropools.domain.money import Currencies
from zeropools.domain.partners import Partner, PartnerCurrency
from zeropools.domain.payins import (
    ATTRIBUTE,
    CREDIT,
    CREDITED,
    FLAG,
    NEEDS_REVIEW,
    PARK,
    PENDING_CONFIRMATION,
    RETURN,
    RETURNED,
    Payin,
    PayinChange,
    PayinNotification,
    ReferenceOwner,
    attribute_by_operator,
    book,
    check_attributable,
    is_flagged,
    open_payin,
    recall_not_covered,
    recall_refused,
    return_payin,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
PARTNER_ID = "partner_01"
REFERENCE = references.new_creditor_reference()
OWNERS = {REFERENCE: ReferenceOwner(PARTNER_ID, "EUR", REFERENCE)}
OPERATOR_KEY = "zpk_operator"


def note(
    amount_minor: int | None = 100_00,
    *,
    reference: str | None = REFERENCE,
    booking_status: str = "booked",
    currency: str = "EUR",
    amount: str = "100.00",
) -> PayinNotification:
    return PayinNotification(
        bank_transaction_id="bank-1",
        amount=amount,
        amount_minor=amount_minor,
        currency=currency,
        booking_status=booking_status,
        reference=reference,
    )


def opened(notification: PayinNotification, *, currency_known: bool = True) -> Payin:
    return open_payin(
        notification,
        OWNERS.get,
        payin_id="pin_01",
        request_id="req_01",
        currency_known=currency_known,
        now=NOW,
    )


def partner(*currencies: str) -> Partner:
    return Partner(
        id=PARTNER_ID,
        name="Acme Wallet",
        balance_model="debit",
        created_at="2026-11-01T00:00:00.000000Z",
        currencies=tuple(
            PartnerCurrency(PARTNER_ID, code, f"RF-{code}", None, Balance()) for code in currencies
        ),
    )


def posted(change: PayinChange) -> Payin:
    """The pay-in as the service writes it: the change's entries posted on a fresh ledger."""
    if not change.entries:
        return change.posted([])
    assert change.payin.partner_id is not None
    posting = ledger.append(
        LedgerHead(change.payin.partner_id, 0, GENESIS_HASH),
        # room for any recall, yet a credit on top stays under the balance ceiling
        {"EUR": Balance(available_minor=limits.BALANCE_MINOR_MAX - limits.AMOUNT_MINOR_MAX)},
        change.entries,
        currencies=Currencies(),
        request_id="req_02",
        now=LATER,
    )
    return change.posted(posting.entries)


def journals(change: PayinChange) -> list[tuple[Line, ...]]:
    """Every journal the change implies: partner drafts, then suspense moves made journals."""
    found = [draft.lines for draft in change.entries]
    for move in change.suspense:
        entry = ledger.suspense_entry(
            move.kind, move.currency, move.amount_minor, change.payin.id, "req_02", LATER
        )
        found.append(entry.lines)
    return found


# -- opening and booking --------------------------------------------------------------------


def test_a_new_payin_waits_for_the_bank_attributed_by_its_reference() -> None:
    payin = opened(note(booking_status="pending"))
    assert (payin.status, payin.booking_status) == (PENDING_CONFIRMATION, "pending")
    assert (payin.partner_id, payin.funding_reference) == (PARTNER_ID, REFERENCE)
    assert (payin.attribution_method, payin.attributed_by) == ("structured_reference", "system")
    assert payin.created_at == payin.updated_at == payin.attributed_at
    assert payin.created_at == "2026-11-23T09:00:00.000000Z"
    assert payin.review_reason is None and payin.ledger_entry_id is None


def test_a_new_payin_without_a_known_reference_names_nobody_and_says_why() -> None:
    payin = opened(note(reference=references.new_creditor_reference()))
    assert payin.partner_id is None and payin.funding_reference is None
    assert payin.attribution_method is None and payin.attributed_at is None
    assert payin.review_reason == "unknown reference"


@pytest.mark.parametrize(
    ("currency_known", "reason"),
    [
        (True, "amount 100.001 has more decimals than EUR allows"),
        (False, "currency EUR is not known to this deployment"),
    ],
)
def test_an_amount_the_currency_cannot_hold_names_nobody_even_with_a_good_reference(
    currency_known: bool, reason: str
) -> None:
    payin = opened(note(None, amount="100.001"), currency_known=currency_known)
    assert payin.partner_id is None and payin.attribution_method is None
    assert (payin.amount_minor, payin.amount_text) == (None, "100.001")
    assert payin.review_reason == reason


def test_booking_an_attributed_payin_credits_it_from_the_bank_with_its_ids() -> None:
    change = book(opened(note()), now=LATER)
    assert change.step == CREDIT
    assert (change.payin.status, change.payin.booking_status) == (CREDITED, "booked")
    assert change.payin.updated_at == "2026-11-23T09:05:00.000000Z"
    (credit,) = change.entries
    assert credit.type == "payin_credit"
    assert (credit.currency, credit.links.payin_id) == ("EUR", "pin_01")
    assert credit.links.funding_reference == REFERENCE
    assert credit.lines == (Line(PLATFORM_BANK, -100_00), Line(AVAILABLE, 100_00))
    assert change.suspense == ()


def test_a_credit_records_its_ledger_entry_once_posted() -> None:
    change = book(opened(note()), now=LATER)
    assert change.payin.ledger_entry_id is None, "only the posting knows the entry id"
    credited = posted(change)
    assert credited.ledger_entry_id is not None and credited.ledger_entry_id.startswith("ple_")
    assert replace(credited, ledger_entry_id=None) == change.payin


def test_booking_an_unattributed_payin_parks_it_in_suspense() -> None:
    change = book(opened(note(reference=None)), now=LATER)
    assert change.step == PARK
    assert (change.payin.status, change.payin.booking_status) == (NEEDS_REVIEW, "booked")
    assert change.payin.review_reason == "no payment reference"
    assert change.entries == ()
    (move,) = change.suspense
    assert (move.kind, move.currency, move.amount_minor) == (SUSPENSE_PARK, "EUR", 100_00)
    assert journals(change) == [(Line(PLATFORM_BANK, -100_00), Line(PLATFORM_SUSPENSE, 100_00))]


def test_booking_an_amount_the_currency_cannot_hold_parks_it_with_no_journal() -> None:
    change = book(opened(note(None, amount="100.001")), now=LATER)
    assert (change.step, change.payin.status) == (PARK, NEEDS_REVIEW)
    assert change.entries == () and change.suspense == ()


def test_a_payin_is_booked_only_once() -> None:
    credited = posted(book(opened(note()), now=LATER))
    with pytest.raises(InvalidTransition):
        book(credited, now=LATER)


# -- the operator's review -------------------------------------------------------------------


def parked() -> Payin:
    return posted(book(opened(note(reference=None)), now=NOW))


def test_an_operator_attribution_credits_out_of_suspense_and_is_audited() -> None:
    change = attribute_by_operator(
        parked(), partner("EUR"), operator_key_id=OPERATOR_KEY, now=LATER
    )
    payin = change.payin
    assert (change.step, payin.status, payin.partner_id) == (ATTRIBUTE, CREDITED, PARTNER_ID)
    assert (payin.attribution_method, payin.attributed_by) == ("operator", OPERATOR_KEY)
    assert payin.attributed_at == payin.updated_at == "2026-11-23T09:05:00.000000Z"
    assert payin.funding_reference == "RF-EUR"
    (credit,) = change.entries
    assert credit.type == "payin_credit"
    assert (credit.links.payin_id, credit.links.funding_reference) == (payin.id, "RF-EUR")
    assert credit.lines == (Line(PLATFORM_SUSPENSE, -100_00), Line(AVAILABLE, 100_00))
    assert change.suspense == ()
    assert posted(change).ledger_entry_id is not None


def test_an_operator_attribution_ends_the_review_and_never_flags_the_payin() -> None:
    waiting = parked()
    assert waiting.review_reason == "no payment reference"
    change = attribute_by_operator(waiting, partner("EUR"), operator_key_id=OPERATOR_KEY, now=LATER)
    assert change.payin.review_reason is None
    assert not is_flagged(change.payin)


def test_attribution_refuses_what_the_payin_rules_out_before_the_partner() -> None:
    credited = posted(book(opened(note()), now=NOW))
    with pytest.raises(InvalidTransition) as refused:
        check_attributable(credited)
    assert refused.value.extra == {"from_status": CREDITED, "to_status": CREDITED}
    unreadable = posted(book(opened(note(None, amount="100.001")), now=NOW))
    with pytest.raises(AmountPrecisionExceeded) as too_fine:
        check_attributable(unreadable)
    assert too_fine.value.detail == (
        "The bank's amount 100.001 EUR has more decimals than EUR allows; it can only be returned."
    )
    assert too_fine.value.extra == {"value": "100.001"}
    with pytest.raises(AmountPrecisionExceeded):
        attribute_by_operator(unreadable, partner("EUR"), operator_key_id=OPERATOR_KEY, now=LATER)


def test_attribution_to_a_partner_without_the_currency_is_refused() -> None:
    with pytest.raises(CurrencyNotEnabled) as refused:
        attribute_by_operator(parked(), partner("USD"), operator_key_id=OPERATOR_KEY, now=LATER)
    assert refused.value.detail == f"EUR is not enabled for {PARTNER_ID}."
    assert refused.value.extra == {"currency": "EUR", "enabled": ["USD"]}


def test_returning_a_parked_payin_takes_the_money_out_of_suspense_and_credits_nobody() -> None:
    change = return_payin(parked(), reason="sender unknown", now=LATER)
    assert (change.step, change.payin.status) == (RETURN, RETURNED)
    assert change.payin.return_reason == "sender unknown"
    assert change.payin.partner_id is None and change.entries == ()
    (move,) = change.suspense
    assert (move.kind, move.amount_minor) == (SUSPENSE_RETURN, 100_00)
    assert journals(change) == [(Line(PLATFORM_BANK, 100_00), Line(PLATFORM_SUSPENSE, -100_00))]


def test_returning_a_payin_the_bank_never_booked_moves_no_money() -> None:
    change = return_payin(opened(note(booking_status="pending")), reason="cancelled", now=LATER)
    assert change.payin.status == RETURNED
    assert change.entries == () and change.suspense == ()


def test_returning_a_parked_amount_the_currency_cannot_hold_moves_no_money() -> None:
    unreadable = posted(book(opened(note(None, amount="100.001")), now=NOW))
    change = return_payin(unreadable, reason="fix the amount", now=LATER)
    assert change.payin.status == RETURNED
    assert change.entries == () and change.suspense == ()


def test_a_recall_reverses_the_credit_and_links_it() -> None:
    credited = posted(book(opened(note()), now=NOW))
    change = return_payin(credited, reason="bank recall: fraud", now=LATER)
    assert (change.step, change.payin.status) == (RETURN, RETURNED)
    (reversal,) = change.entries
    assert reversal.type == "payin_reversal"
    assert reversal.links.related_entry_id == credited.ledger_entry_id
    assert reversal.links.payin_id == credited.id
    assert reversal.reason == "bank recall: fraud"
    assert reversal.lines == (Line(AVAILABLE, -100_00), Line(PLATFORM_BANK, 100_00))
    assert posted(change).ledger_entry_id == credited.ledger_entry_id, "still names the credit"


def test_a_returned_payin_cannot_be_returned_again() -> None:
    returned = return_payin(parked(), reason="sender unknown", now=NOW).payin
    with pytest.raises(InvalidTransition, match="already returned"):
        return_payin(returned, reason="again", now=LATER)


def test_a_refused_recall_flags_the_credited_payin_and_moves_no_money() -> None:
    credited = posted(book(opened(note()), now=NOW))
    spent = InsufficientBalance(
        "ledger words", currency="EUR", requested="100.00", available="40.00", shortfall="60.00"
    )
    refusal = recall_not_covered(credited, spent)
    assert refusal.extra == spent.extra
    assert refusal.detail.startswith(f"The recall cannot be posted: {PARTNER_ID} has already")
    assert "(available 40.00 EUR, short 60.00)" in refusal.detail

    change = recall_refused(credited, detail=refusal.detail, now=LATER)
    assert (change.step, change.payin.status) == (FLAG, CREDITED)
    assert change.payin.review_reason == f"recall refused: {refusal.detail}"
    assert is_flagged(change.payin)
    assert change.entries == () and change.suspense == ()
    assert change.payin.ledger_entry_id == credited.ledger_entry_id


# -- every path ------------------------------------------------------------------------------

# path -> net lines by account over all its journals, for an amount X = 1
EXPECTED_NET = {
    (CREDIT,): {PLATFORM_BANK: -1, AVAILABLE: +1},
    (CREDIT, RETURN): {},
    (CREDIT, FLAG, RETURN): {},
    (PARK,): {PLATFORM_BANK: -1, PLATFORM_SUSPENSE: +1},
    (PARK, ATTRIBUTE): {PLATFORM_BANK: -1, AVAILABLE: +1},
    (PARK, ATTRIBUTE, RETURN): {},
    (PARK, RETURN): {},
    (RETURN,): {},
}


def walk(path: tuple[str, ...], amount_minor: int) -> list[PayinChange]:
    """The changes along ``path`` for a pay-in of ``amount_minor``, each written as posted."""
    reference = None if path[0] == PARK else REFERENCE
    booking = "pending" if path[0] == RETURN else "booked"
    payin = opened(note(amount_minor, reference=reference, booking_status=booking))
    changes = []
    for step in path:
        if step in (CREDIT, PARK):
            change = book(payin, now=LATER)
        elif step == ATTRIBUTE:
            change = attribute_by_operator(
                payin, partner("EUR"), operator_key_id=OPERATOR_KEY, now=LATER
            )
        elif step == RETURN:
            change = return_payin(payin, reason="back", now=LATER)
        else:
            change = recall_refused(payin, detail="spent", now=LATER)
        assert change.step == step, (path, change)
        changes.append(change)
        payin = posted(change)
    return changes


def net(changes: list[PayinChange]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for change in changes:
        for lines in journals(change):
            for line in lines:
                total[line.account] += line.amount_minor
    return {account: amount for account, amount in total.items() if amount != 0}


@pytest.mark.parametrize("path", sorted(EXPECTED_NET))
def test_every_path_nets_the_accounts_as_the_story_says(path: tuple[str, ...]) -> None:
    amount_minor = 250_00
    expected = {account: sign * amount_minor for account, sign in EXPECTED_NET[path].items()}
    assert net(walk(path, amount_minor)) == expected


@given(st.sampled_from(sorted(EXPECTED_NET)), st.integers(min_value=1, max_value=10**15))
def test_every_journal_of_every_path_balances_in_the_payins_currency(
    path: tuple[str, ...], amount_minor: int
) -> None:
    for change in walk(path, amount_minor):
        for draft in change.entries:
            assert draft.currency == change.payin.currency
            assert sum(line.amount_minor for line in draft.lines) == 0
            assert ledger.journal_problems(draft.type, draft.lines, draft.links) == []
            assert draft.links.payin_id == change.payin.id
        for move in change.suspense:
            assert move.currency == change.payin.currency
        for lines in journals(change):
            assert sum(line.amount_minor for line in lines) == 0


@given(st.sampled_from(sorted(EXPECTED_NET)), st.integers(min_value=1, max_value=10**15))
def test_a_payin_credits_its_partner_at_most_once_on_any_path(
    path: tuple[str, ...], amount_minor: int
) -> None:
    changes = walk(path, amount_minor)
    credits = [d for c in changes for d in c.entries if d.type == "payin_credit"]
    reversals = [d for c in changes for d in c.entries if d.type == "payin_reversal"]
    assert len(credits) <= 1
    assert len(reversals) <= len(credits), "a reversal always has a credit to unwind"
    available = sum(
        line.amount_minor
        for d in credits + reversals
        for line in d.lines
        if line.account == AVAILABLE
    )
    assert 0 <= available <= amount_minor


@pytest.mark.parametrize("path", sorted(EXPECTED_NET))
def test_only_a_refused_recall_leaves_a_payin_flagged(path: tuple[str, ...]) -> None:
    for change in walk(path, 100_00):
        assert is_flagged(change.payin) == (change.step == FLAG), (path, change.step)


def test_a_change_that_would_flag_without_a_refused_recall_is_a_bug() -> None:
    credited = posted(book(opened(note()), now=NOW))
    with pytest.raises(AssertionError, match="only a refused recall flags"):
        PayinChange(replace(credited, review_reason="no payment reference"), ATTRIBUTE)

"""Pay-ins: bank credit notifications, their lifecycle and how they are attributed.

A pay-in credits a partner at most once, and only when the bank has booked it and the payment
reference names that partner with certainty. Everything else waits: ``pending_confirmation``
until booked, ``needs_review`` (money in platform suspense) until an operator decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from zeropools.domain import references
from zeropools.domain.errors import PayinConflict

PENDING_CONFIRMATION = "pending_confirmation"
CREDITED = "credited"
NEEDS_REVIEW = "needs_review"
RETURNED = "returned"
STATUSES = (PENDING_CONFIRMATION, CREDITED, NEEDS_REVIEW, RETURNED)
BOOKING_STATUSES = ("pending", "booked")

METHOD_STRUCTURED_REFERENCE = "structured_reference"
METHOD_REMITTANCE_REFERENCE = "remittance_reference"
METHOD_OPERATOR = "operator"

_RF_START = re.compile(r"RF[0-9]{2}")
_OUR_SHAPE = re.compile(
    rf"(?=(RF[0-9]{{2}}{references.BODY_PREFIX}[0-9A-Z]{{{references.BODY_RANDOM_CHARS}}}))"
)


@dataclass(frozen=True)
class PayinNotification:
    """A bank credit as the bank reported it; ``amount`` is the decimal string it sent."""

    bank_transaction_id: str
    amount: str
    amount_minor: int | None  # None: more real decimals than the currency has; goes to review
    currency: str
    booking_status: str
    reference: str | None = None
    remittance_info: str | None = None
    debtor_name: str | None = None
    debtor_iban: str | None = None
    value_date: str | None = None


@dataclass(frozen=True)
class Payin:
    id: str
    bank_transaction_id: str
    partner_id: str | None
    amount_minor: int | None  # None: the bank's amount is finer than the currency (amount_text)
    currency: str
    status: str
    booking_status: str
    reference: str | None
    remittance_info: str | None
    debtor_name: str | None
    debtor_iban: str | None
    value_date: str | None
    attribution_method: str | None
    attributed_by: str | None
    review_reason: str | None
    ledger_entry_id: str | None
    funding_reference: str | None
    request_id: str
    created_at: str
    updated_at: str
    amount_text: str | None = None  # the bank's decimal string, when it is not exact minor units
    attributed_at: str | None = None
    return_reason: str | None = None


@dataclass(frozen=True)
class ReferenceOwner:
    partner_id: str
    currency: str
    funding_reference: str


@dataclass(frozen=True)
class Attribution:
    partner_id: str | None
    funding_reference: str | None
    method: str | None
    review_reason: str | None


def find_references(text: str) -> tuple[set[str], bool]:
    """RF references in free text: spaces, case and line breaks ignored.

    Returns the valid references found, and whether anything that starts like one was there
    (so a typo'd reference is told apart from no reference at all). Every length at every
    ``RF``+two digits start is tried, because the end of a reference is not marked in free
    text; a false positive (a prefix passing mod 97 by chance) can never be one of our
    references, since those are of one fixed length and must validate at exactly that length.
    """
    compact = re.sub(r"\s+", "", text).upper()
    found: set[str] = set()
    started = False
    for start in _RF_START.finditer(compact):
        started = True
        tail = compact[start.start() : start.start() + references.REFERENCE_CHARS_MAX]
        for end in range(5, len(tail) + 1):
            candidate = tail[:end]
            if not candidate.isalnum():
                break
            if references.is_valid(candidate):
                found.add(candidate)
    return found, started


def attribute(
    notification: PayinNotification, lookup: Callable[[str], ReferenceOwner | None]
) -> Attribution:
    """Decide whose money this is, or why an operator must decide (DESIGN.md, attribution).

    In order: the structured creditor reference (when it is an RF one); else a valid RF
    reference in the free text.
    Nothing else attributes automatically: a failing check digit, an unknown reference, two
    partners' references or a currency the reference is not for all go to review.
    """
    structured = references.normalize(notification.reference or "")
    # a structured reference that is not ISO 11649 (a bank's or the payer's own) says nothing
    # about who we credit; only an RF one decides, and the free text is read otherwise
    if structured.startswith("RF"):
        if not references.is_valid(structured):
            return _review("structured reference check digits fail")
        return _owned(notification, [structured], lookup, METHOD_STRUCTURED_REFERENCE)
    text = notification.remittance_info or ""
    found, started = find_references(text)
    if not found and structured:
        return _review("structured reference is not an RF creditor reference")
    if not found:
        return _review("reference check digits fail" if started else "no payment reference")
    attribution = _owned(notification, sorted(found), lookup, METHOD_REMITTANCE_REFERENCE)
    if attribution.review_reason == "unknown reference" and _mistyped_ours(text):
        # a shorter prefix of a typo'd reference can pass mod 97 by chance; name the typo
        return _review("reference check digits fail")
    return attribution


def _mistyped_ours(text: str) -> bool:
    """Something shaped like one of our references whose check digits fail."""
    compact = re.sub(r"\s+", "", text).upper()
    windows = _OUR_SHAPE.findall(compact)
    return bool(windows) and not any(references.is_valid(w) for w in windows)


def _review(reason: str) -> Attribution:
    return Attribution(None, None, None, reason)


def _owned(
    notification: PayinNotification,
    candidates: list[str],
    lookup: Callable[[str], ReferenceOwner | None],
    method: str,
) -> Attribution:
    owners = [owner for owner in map(lookup, candidates) if owner is not None]
    if not owners:
        return _review("unknown reference")
    if len({owner.partner_id for owner in owners}) > 1:
        return _review("references of more than one partner")
    matching = [owner for owner in owners if owner.currency == notification.currency]
    if not matching:
        return _review(f"reference is for {owners[0].currency}, pay-in is {notification.currency}")
    owner = matching[0]
    return Attribution(owner.partner_id, owner.funding_reference, method, None)


def check_resend(known: Payin, notification: PayinNotification) -> None:
    """A resend of a known bank transaction must agree on the money."""
    # an amount finer than the currency is compared as the exact decimal the bank wrote
    old_amount: object = known.amount_minor
    new_amount: object = notification.amount_minor
    if old_amount is None or new_amount is None:
        old_amount = Decimal(known.amount_text) if known.amount_text else old_amount
        new_amount = Decimal(notification.amount) if new_amount is None else new_amount
        if isinstance(old_amount, Decimal) != isinstance(new_amount, Decimal):
            old_amount, new_amount = "exact", "finer than the currency"
    differences = [
        name
        for name, old, new in (
            ("amount", old_amount, new_amount),
            ("currency", known.currency, notification.currency),
        )
        if old != new
    ]
    if differences:
        raise PayinConflict(
            f"Bank transaction {known.bank_transaction_id!r} is already known with a different "
            f"{' and '.join(differences)}; nothing was changed.",
            payin_id=known.id,
            differences=differences,
        )

"""Pay-ins: bank credit notifications, their lifecycle and how they are attributed.

A pay-in credits a partner at most once, and only when the bank has booked it and the payment
reference names that partner with certainty. Everything else waits: ``pending_confirmation``
until booked, ``needs_review`` (money in platform suspense) until an operator decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zeropools.domain import references
from zeropools.domain.errors import PayinConflict

PENDING_CONFIRMATION = "pending_confirmation"
CREDITED = "credited"
NEEDS_REVIEW = "needs_review"
RETURNED = "returned"
STATUSES = (PENDING_CONFIRMATION, CREDITED, NEEDS_REVIEW, RETURNED)
BOOKING_STATUSES = ("pending", "booked")

METHOD_STRUCTURED_REFERENCE = "structured_reference"


@dataclass(frozen=True)
class PayinNotification:
    """A bank credit as the bank reported it; ``amount`` is the decimal string it sent."""

    bank_transaction_id: str
    amount: str
    amount_minor: int
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
    amount_minor: int
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


def attribute(
    notification: PayinNotification, lookup: Callable[[str], ReferenceOwner | None]
) -> Attribution:
    """Decide whose money this is, or why an operator must decide.

    Only an exact structured creditor reference of an enabled currency attributes here; reading
    references out of free text comes with the funding issue and plugs in at this point.
    """
    if not notification.reference:
        return Attribution(None, None, None, "no payment reference")
    reference = references.normalize(notification.reference)
    if not references.is_valid(reference):
        return Attribution(None, None, None, "reference check digits fail")
    owner = lookup(reference)
    if owner is None:
        return Attribution(None, None, None, "unknown reference")
    if owner.currency != notification.currency:
        return Attribution(
            None,
            None,
            None,
            f"reference is for {owner.currency}, pay-in is {notification.currency}",
        )
    return Attribution(owner.partner_id, reference, METHOD_STRUCTURED_REFERENCE, None)


def check_resend(known: Payin, notification: PayinNotification) -> None:
    """A resend of a known bank transaction must agree on the money."""
    differences = [
        name
        for name, old, new in (
            ("amount", known.amount_minor, notification.amount_minor),
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

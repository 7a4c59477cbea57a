"""A bank credit notification, from ``POST /v1/payins`` or a statement file, validated.

Strict at the edge: a malformed id, booking status, text or currency is refused with the
field named. Money is parsed once here into minor units; from a bank file, an amount the
currency cannot hold exactly is kept as the bank wrote it, so the pay-in goes to review
instead of being rounded or refusing the whole file.
"""

from __future__ import annotations

import re

from zeropools.domain import limits, payins
from zeropools.domain.errors import AmountPrecisionExceeded, CurrencyNotEnabled, ValidationFailed
from zeropools.domain.payins import PayinNotification
from zeropools.services.context import Deployment


def notification(
    dep: Deployment,
    *,
    bank_transaction_id: object,
    amount: object,
    currency: object,
    booking_status: object,
    reference: str | None = None,
    remittance_info: str | None = None,
    debtor_name: str | None = None,
    debtor_iban: str | None = None,
    value_date: str | None = None,
    from_bank_file: bool = False,
) -> PayinNotification:
    """Validate a notification's fields (API or bank file) into a domain value.

    From a bank file, amounts are taken exactly as written: ``8.850`` EUR is 8.85, and an
    amount with more real decimals than the currency has is kept as text (``amount_minor``
    None) so the pay-in goes to review instead of being rounded.
    """
    errors = []
    if not isinstance(bank_transaction_id, str) or not (
        0 < len(bank_transaction_id) <= limits.BANK_TRANSACTION_ID_CHARS_MAX
    ):
        errors.append(
            {
                "field": "bank_transaction_id",
                "message": f"1 to {limits.BANK_TRANSACTION_ID_CHARS_MAX} characters",
            }
        )
    if booking_status not in payins.BOOKING_STATUSES:
        errors.append({"field": "booking_status", "message": "'pending' or 'booked'"})
    if remittance_info is not None and len(remittance_info) > limits.REMITTANCE_INFO_CHARS_MAX:
        errors.append(
            {"field": "remittance_info", "message": f"at most {limits.REMITTANCE_INFO_CHARS_MAX}"}
        )
    if errors:
        raise ValidationFailed("The pay-in notification is invalid.", errors=errors)
    assert isinstance(bank_transaction_id, str) and isinstance(booking_status, str)
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3,5}", currency):
        raise ValidationFailed.field(
            "currency", "an ISO 4217 code such as EUR", "The pay-in notification is invalid."
        )
    amount_minor: int | None
    try:
        amount_minor = dep.currencies.parse(amount, currency, allow_trailing_zeros=from_bank_file)
    except (AmountPrecisionExceeded, CurrencyNotEnabled):
        # a bank file states facts: keep them for review rather than refuse the whole file
        if not from_bank_file:
            raise
        amount_minor = None
    assert isinstance(amount, str)
    return PayinNotification(
        bank_transaction_id=bank_transaction_id,
        amount=amount,
        amount_minor=amount_minor,
        currency=currency,
        booking_status=booking_status,
        reference=reference,
        remittance_info=remittance_info,
        debtor_name=debtor_name,
        debtor_iban=debtor_iban,
        value_date=value_date,
    )

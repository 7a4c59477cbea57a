"""What a parsed bank statement file gives the importer: credits, counts, and one error type."""

from __future__ import annotations

from dataclasses import dataclass


class StatementError(ValueError):
    """The file is not a statement this package can read; the message says why in plain words."""


@dataclass(frozen=True)
class StatementCredit:
    """One incoming payment on the statement account, as the bank wrote it.

    ``amount`` is a decimal string with the decimals the file used ("8.850" stays "8.850"), so the
    importer decides how to treat extra decimals; no float is involved anywhere.
    """

    bank_transaction_id: str
    amount: str
    currency: str
    booking_status: str
    reference: str | None
    remittance_info: str | None
    debtor_name: str | None
    debtor_iban: str | None
    value_date: str | None
    booking_date: str | None
    end_to_end_id: str | None
    uetr: str | None
    account_iban: str | None


@dataclass(frozen=True)
class StatementParse:
    """Everything read from one file: its format, the credits, and what was left out."""

    format: str
    version: str | None
    entries: int
    credits: list[StatementCredit]
    ignored_debits: int


BOOKED = "booked"
PENDING = "pending"

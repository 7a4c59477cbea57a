"""Small value checks shared by the camt and MT940 readers: amounts, dates, IBANs, text."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from zeropools.bankfiles.model import StatementError

# ASCII digits only: Python's \d also accepts Arabic-Indic and other digits.
_CAMT_AMOUNT = re.compile(r"\+?(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?")
_MT940_AMOUNT = re.compile(r"(?P<int>[0-9]*)(?:,(?P<frac>[0-9]*))?")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
# ISO 20022 amounts have at most 18 digits (totalDigits), SWIFT ones 15 characters; a longer
# string is a broken file, and far longer ones would trip int()'s digit limit downstream.
_AMOUNT_DIGITS_MAX = 18


def _plain(int_part: str, frac_part: str | None, written: str) -> str:
    # "5." and ".5" are valid xs:decimal and SWIFT writes "300," for 300; the importer's amount
    # grammar wants digits on both sides of a point, so only the empty side is filled or dropped.
    # The decimals that were written are kept as they are: "8.850" stays "8.850".
    if not int_part and not frac_part:
        raise StatementError(f"amount {written!r} is not a decimal number")
    if len(int_part) + len(frac_part or "") > _AMOUNT_DIGITS_MAX:
        raise StatementError(f"amount {written[:40]!r} has more than {_AMOUNT_DIGITS_MAX} digits")
    amount = int_part or "0"
    return f"{amount}.{frac_part}" if frac_part else amount


def camt_amount(text: str | None) -> str:
    """The ISO 20022 amount as written, with a leading '+' removed."""
    written = (text or "").strip()
    match = _CAMT_AMOUNT.fullmatch(written)
    if match is None:
        raise StatementError(f"amount {written!r} is not a non-negative decimal number")
    return _plain(match["int"], match["frac"], written)


def mt940_amount(text: str) -> str:
    """The SWIFT ``15d`` amount as written, with its decimal comma turned into a point."""
    written = text.strip()
    match = _MT940_AMOUNT.fullmatch(written)
    if match is None:
        raise StatementError(f"MT940 amount {written!r} is not a decimal number")
    return _plain(match["int"], match["frac"], written)


def canonical_amount(amount: str) -> str:
    """One spelling per value ("8.850" and "8.85" give "8.85"), for ids only; no exponent."""
    value = Decimal(amount)
    # normalize() alone would write 100 as "1E+2"; format "f" never uses an exponent.
    return format(value.normalize(), "f") if value else "0"


def iso_date(text: str | None, what: str) -> str | None:
    """``YYYY-MM-DD`` from an ISO date or date-time, as the bank wrote it (no time-zone shift)."""
    if text is None:
        return None
    day = text.strip()[:10]
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        raise StatementError(f"{what} {text!r} is not an ISO date") from None
    return day


def is_iban(text: str) -> bool:
    """Shape and ISO 13616 mod-97 check digits; enough to tell an IBAN from an account number."""
    if not _IBAN.fullmatch(text):
        return False
    rearranged = text[4:] + text[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def iban_or_none(text: str | None, *, check_digits: bool = True) -> str | None:
    """The IBAN in ``text`` (spaces removed, upper case), or None if it is something else.

    ``check_digits=False`` is for the statement's own account: the importer compares it with
    the accounts it knows, so a mistyped IBAN is refused there anyway, with a clearer message.
    """
    if text is None:
        return None
    compact = re.sub(r"\s+", "", text).upper()
    valid = is_iban(compact) if check_digits else _IBAN.fullmatch(compact) is not None
    return compact if valid else None


def clean(text: str | None) -> str | None:
    """Stripped text, or None when nothing is left."""
    if text is None:
        return None
    stripped = text.strip()
    return stripped or None

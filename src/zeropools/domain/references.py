"""ISO 11649 creditor references (``RF`` + two mod-97 check digits + up to 21 characters).

A partner's reference is what attributes a bank transfer to it, so it must survive being typed
by a human into a banking app: we use unambiguous uppercase characters, validate check digits
with python-stdnum, and ignore spaces and case when reading one back.
"""

from __future__ import annotations

import re
import secrets

from stdnum import iso11649

# No 0/O or 1/I/L: humans retype these references.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BODY_PREFIX = "ZP"
BODY_RANDOM_CHARS = 12
REFERENCE_CHARS_MAX = 25  # "RF" + 2 check digits + at most 21 characters


def _check_digits(body: str) -> str:
    # ISO 11649: move "RF00" behind the body, letters to numbers (A=10..Z=35), 98 - mod 97.
    digits = "".join(str(int(ch, 36)) for ch in body + "RF00")
    return f"{98 - int(digits) % 97:02d}"


def new_creditor_reference() -> str:
    body = BODY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(BODY_RANDOM_CHARS))
    reference = f"RF{_check_digits(body)}{body}"
    assert iso11649.is_valid(reference), reference
    return reference


def normalize(text: str) -> str:
    """Compact form: no whitespace, uppercase."""
    return re.sub(r"\s+", "", text).upper()


def is_valid(text: str) -> bool:
    return bool(iso11649.is_valid(normalize(text)))


def format_printed(reference: str) -> str:
    """Groups of four for humans: ``RF18 ZP23 4567 89AB CD``."""
    return str(iso11649.format(reference))

"""Whose money a bank credit is, or why an operator must decide (DESIGN.md "Funding and
attribution").

A credit is attributed by, in order: the structured creditor reference when it is an ISO 11649
(``RF``) one; else a valid RF reference found in the free-text remittance information (spaces,
case and line breaks ignored). Nothing else attributes automatically: failing check digits, an
unknown reference, two partners' references or a currency the reference is not for all leave
the partner unnamed, with a ``review_reason`` an operator reads.

Pure: owners of references are looked up through a callable the service fills from one query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zeropools.domain import references

if TYPE_CHECKING:
    # only for annotations: ``payins`` re-exports this module's names, so no import at run time
    from zeropools.domain.payins import PayinNotification

METHOD_STRUCTURED_REFERENCE = "structured_reference"
METHOD_REMITTANCE_REFERENCE = "remittance_reference"
METHOD_OPERATOR = "operator"

_RF_START = re.compile(r"RF[0-9]{2}")
_OUR_SHAPE = re.compile(
    rf"(?=(RF[0-9]{{2}}{references.BODY_PREFIX}[0-9A-Z]{{{references.BODY_RANDOM_CHARS}}}))"
)


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


def candidate_references(notifications: Iterable[PayinNotification]) -> set[str]:
    """Every RF reference any of ``notifications`` could be attributed by.

    The service looks all of them up in one query, then ``attribute`` reads the answers.
    """
    found: set[str] = set()
    for notification in notifications:
        structured = references.normalize(notification.reference or "")
        if structured.startswith("RF"):
            found.add(structured)
        found |= find_references(notification.remittance_info or "")[0]
    return found


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


def unreadable_amount(notification: PayinNotification, currency_known: bool) -> Attribution:
    """A credit whose amount is not exact minor units of a known currency is nobody's yet.

    Whatever its reference says, crediting it would round the bank's figure (or guess a
    currency), so it goes to review with the reason; an operator can only return it.
    """
    assert notification.amount_minor is None, notification
    return _review(
        f"amount {notification.amount} has more decimals than {notification.currency} allows"
        if currency_known
        else f"currency {notification.currency} is not known to this deployment"
    )


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

"""The pay-in state machine as data, and the journals each step implies.

A pay-in credits a partner at most once, and only when the bank has booked it and the payment
reference names that partner with certainty (``payin_attribution``). Everything else waits:
``pending_confirmation`` until booked, ``needs_review`` (money in platform suspense) until an
operator decides.

A pay-in is born ``pending_confirmation``. Each step is named, because two steps can reach the
same status with different money (the bank's credit and an operator's attribution both end
``credited``, from different accounts), and refusals name the step that was asked for:

    from                  step        to             journal written
    pending_confirmation  credit      credited       payin_credit      bank -> available
    pending_confirmation  park        needs_review   suspense_park     bank -> suspense
    pending_confirmation  return      returned       none (the bank never booked the money)
    needs_review          attribute   credited       payin_credit      suspense -> available
    needs_review          return      returned       suspense_return   suspense -> bank
    credited              return      returned       payin_reversal    available -> bank
    credited              flag        credited       none (a recall the balance cannot cover)
    returned              (none: final)

``flag`` is the one step that keeps the status: a bank recall of money the partner has already
spent is refused (nothing posted, no overdraft) and the credited pay-in carries the refusal as
its ``review_reason`` so the operator's queue (``flagged``) shows it. Only that step flags: an
operator's attribution ends the review, so it clears the reason the pay-in waited for.

Every step is a pure function returning a ``PayinChange`` (the pay-in after it, the partner
ledger drafts and the platform suspense journals to write); the service persists it. Nothing
here does I/O or reads the clock: ids and ``now`` are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from zeropools.domain import ledger, payin_attribution, references
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import (
    AmountPrecisionExceeded,
    CurrencyNotEnabled,
    InsufficientBalance,
    InvalidTransition,
    PayinConflict,
)
from zeropools.domain.ledger import (
    PLATFORM_SUSPENSE,
    SUSPENSE_PARK,
    SUSPENSE_RETURN,
    EntryDraft,
    LedgerEntry,
)
from zeropools.domain.partners import Partner

# Attribution is its own module; its names stay importable from here, as they always were.
METHOD_STRUCTURED_REFERENCE = payin_attribution.METHOD_STRUCTURED_REFERENCE
METHOD_REMITTANCE_REFERENCE = payin_attribution.METHOD_REMITTANCE_REFERENCE
METHOD_OPERATOR = payin_attribution.METHOD_OPERATOR
ReferenceOwner = payin_attribution.ReferenceOwner
Attribution = payin_attribution.Attribution
find_references = payin_attribution.find_references
candidate_references = payin_attribution.candidate_references
attribute = payin_attribution.attribute

PENDING_CONFIRMATION = "pending_confirmation"
CREDITED = "credited"
NEEDS_REVIEW = "needs_review"
RETURNED = "returned"
STATUSES = (PENDING_CONFIRMATION, CREDITED, NEEDS_REVIEW, RETURNED)
INITIAL_STATUS = PENDING_CONFIRMATION

# What the bank says of the money: only ``booked`` money may be credited (invariant 6).
PENDING_BOOKING = "pending"
BOOKED = "booked"
BOOKING_STATUSES = (PENDING_BOOKING, BOOKED)

CREDIT = "credit"  # the bank booked it and its reference named the partner
PARK = "park"  # the bank booked it and nobody can be named with certainty
ATTRIBUTE = "attribute"  # an operator names the partner of a parked pay-in
RETURN = "return"  # an operator sends it back: unbooked, out of suspense, or a bank recall
FLAG = "flag"  # a bank recall was refused: the partner had spent the money

# status -> {step: status after it}; a step missing from a status's row is refused.
TRANSITIONS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        PENDING_CONFIRMATION: MappingProxyType(
            {CREDIT: CREDITED, PARK: NEEDS_REVIEW, RETURN: RETURNED}
        ),
        NEEDS_REVIEW: MappingProxyType({ATTRIBUTE: CREDITED, RETURN: RETURNED}),
        CREDITED: MappingProxyType({RETURN: RETURNED, FLAG: CREDITED}),
        RETURNED: MappingProxyType({}),
    }
)
STEPS = (CREDIT, PARK, ATTRIBUTE, RETURN, FLAG)
# Each step has one outcome wherever it is allowed, so a refusal can name the status it asked for.
STEP_TARGETS: Mapping[str, str] = MappingProxyType(
    {step: to for row in TRANSITIONS.values() for step, to in row.items()}
)
assert set(TRANSITIONS) == set(STATUSES), TRANSITIONS
assert set(STEP_TARGETS) == set(STEPS), STEP_TARGETS
assert all(STEP_TARGETS[step] == to for row in TRANSITIONS.values() for step, to in row.items())
# Nothing leads back to the initial status: a pay-in is pending only until the bank books it.
assert INITIAL_STATUS not in STEP_TARGETS.values()
CREDITING_STEPS = frozenset({CREDIT, ATTRIBUTE})

# The API's words for each refusal (409 ``invalid_transition``); ``{status}`` is the pay-in's.
REFUSALS: Mapping[str, str] = MappingProxyType(
    {
        CREDIT: "Only pay-ins pending confirmation are credited on booking; this one is {status}.",
        PARK: "Only pay-ins pending confirmation are parked for review; this one is {status}.",
        ATTRIBUTE: "Only pay-ins in needs_review can be attributed; this one is {status}.",
        RETURN: "This pay-in was already returned.",
        FLAG: "Only credited pay-ins are flagged by a refused recall; this one is {status}.",
    }
)
assert set(REFUSALS) == set(STEPS), REFUSALS
# ``RETURN``'s words are only true if ``returned`` is the one status refusing it.
assert {s for s in STATUSES if RETURN not in TRANSITIONS[s]} == {RETURNED}

RECALL_REFUSED = "recall refused: "  # starts the review_reason of a flagged pay-in


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


def is_flagged(payin: Payin) -> bool:
    """Credited, yet waiting for the operator: what ``flagged`` means in the API."""
    return payin.status == CREDITED and payin.review_reason is not None


@dataclass(frozen=True)
class SuspenseMove:
    """A platform-only journal a step implies: money into suspense, or out of it to the sender.

    A description, not the journal: the service makes it a ``ledger.PlatformEntry`` with its own
    id, request id and time (``ledger.suspense_entry``).
    """

    kind: str
    currency: str
    amount_minor: int

    def __post_init__(self) -> None:
        assert self.kind in (SUSPENSE_PARK, SUSPENSE_RETURN), self.kind
        assert self.amount_minor > 0, self


@dataclass(frozen=True)
class PayinChange:
    """What a step produces: the pay-in after it and the journals to write for it.

    ``entries`` go on the pay-in partner's ledger, in order; ``suspense`` are platform journals,
    written after the pay-in row they reference. A crediting step's ``ledger_entry_id`` is only
    known once posted: ``posted`` fills it in.
    """

    payin: Payin
    step: str
    entries: tuple[EntryDraft, ...] = ()
    suspense: tuple[SuspenseMove, ...] = ()

    def __post_init__(self) -> None:
        assert self.payin.status == STEP_TARGETS[self.step], self
        assert self.step == FLAG or not is_flagged(self.payin), (
            "only a refused recall flags",
            self,
        )
        assert not self.entries or self.payin.partner_id is not None, self
        for draft in self.entries:
            problems = ledger.journal_problems(draft.type, draft.lines, draft.links, draft.reason)
            assert not problems, (problems, draft)
            assert (draft.currency, draft.links.payin_id) == (self.payin.currency, self.payin.id)
        assert all(move.currency == self.payin.currency for move in self.suspense), self
        assert (self.step in CREDITING_STEPS) == (
            [d.type for d in self.entries] == [ledger.PAYIN_CREDIT]
        ), self

    def posted(self, entries: Sequence[LedgerEntry]) -> Payin:
        """The pay-in once ``entries`` (what posting ``self.entries`` made) are written."""
        assert len(entries) == len(self.entries), (entries, self)
        for draft, entry in zip(self.entries, entries, strict=True):
            assert (entry.type, entry.links, entry.partner_id) == (
                draft.type,
                draft.links,
                self.payin.partner_id,
            ), (entry, draft)
        if self.step in CREDITING_STEPS:
            return replace(self.payin, ledger_entry_id=entries[0].id)
        return self.payin


def check_transition(from_status: str, step: str) -> str:
    """The status ``step`` leads to from ``from_status``; ``InvalidTransition`` if the table
    does not list it.

    Keyed by step rather than by target status: ``credited`` is reached by the bank's credit
    and by an operator's attribution, and only the step says which is being asked.
    """
    assert from_status in STATUSES, from_status
    assert step in STEPS, step
    to_status = TRANSITIONS[from_status].get(step)
    if to_status is None:
        raise InvalidTransition(
            REFUSALS[step].format(status=from_status),
            from_status=from_status,
            to_status=STEP_TARGETS[step],
        )
    return to_status


def open_payin(
    notification: PayinNotification,
    owner_of: Callable[[str], ReferenceOwner | None],
    *,
    payin_id: str,
    request_id: str,
    currency_known: bool,
    now: datetime,
) -> Payin:
    """A new pay-in for ``notification``, attributed if its reference allows, not yet booked.

    No money moves until ``book``; ``currency_known`` says whether the deployment knows the
    currency, for the review reason of an amount that is not exact minor units.
    """
    attribution = (
        attribute(notification, owner_of)
        if notification.amount_minor is not None
        else payin_attribution.unreadable_amount(notification, currency_known)
    )
    named = attribution.partner_id is not None
    at = to_rfc3339(now)
    return Payin(
        id=payin_id,
        bank_transaction_id=notification.bank_transaction_id,
        partner_id=attribution.partner_id,
        amount_minor=notification.amount_minor,
        currency=notification.currency,
        status=INITIAL_STATUS,
        booking_status=PENDING_BOOKING,
        reference=notification.reference,
        remittance_info=notification.remittance_info,
        debtor_name=notification.debtor_name,
        debtor_iban=notification.debtor_iban,
        value_date=notification.value_date,
        attribution_method=attribution.method if named else None,
        attributed_by="system" if named else None,
        review_reason=attribution.review_reason,
        ledger_entry_id=None,
        funding_reference=attribution.funding_reference if named else None,
        request_id=request_id,
        created_at=at,
        updated_at=at,
        amount_text=notification.amount if notification.amount_minor is None else None,
        attributed_at=at if named else None,
    )


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


def correct_reference(
    known: Payin,
    notification: PayinNotification,
    owner_of: Callable[[str], ReferenceOwner | None],
    *,
    now: datetime,
) -> Payin | PayinChange:
    """A resend (``check_resend`` passed) that names another structured reference.

    Banks correct a reference they first sent wrong (a placeholder, a typo). While nobody has
    the money (no partner named, not returned), the corrected reference is read as if the
    credit had come with it: it names a partner, or the resend is refused, since keeping the
    old reference silently would tell the sender it worked. Once a partner was named, only a
    reference naming the same one (the same reference written another way) is accepted: moving
    credited money is an operator's return and attribution, never a resend's side effect.

    Returns ``known`` (nothing to correct), the re-attributed pay-in while it is not yet booked
    (``book`` credits it), or the ``attribute`` step out of suspense for a parked one.
    """
    given = references.normalize(notification.reference or "")
    if not given or given == references.normalize(known.reference or ""):
        return known
    attribution = attribute(notification, owner_of)
    if attribution.partner_id is not None and attribution.partner_id == known.partner_id:
        return known
    open_to_correction = (
        known.partner_id is None
        and known.status in (PENDING_CONFIRMATION, NEEDS_REVIEW)
        and known.amount_minor is not None
    )
    if not open_to_correction or attribution.partner_id is None:
        why = (
            "it names no partner of ours with certainty"
            if open_to_correction
            else f"the pay-in is already {known.status}"
            + (f" for {known.partner_id}" if known.partner_id else "")
        )
        raise PayinConflict(
            f"Bank transaction {known.bank_transaction_id!r} is already known with another "
            f"reference and the new one cannot replace it: {why}. Nothing was changed; an "
            "operator can attribute or return the pay-in.",
            payin_id=known.id,
            differences=["reference"],
        )
    at = to_rfc3339(now)
    corrected = replace(
        known,
        partner_id=attribution.partner_id,
        reference=notification.reference,
        remittance_info=notification.remittance_info or known.remittance_info,
        attribution_method=attribution.method,
        attributed_by="system",
        attributed_at=at,
        funding_reference=attribution.funding_reference,
        review_reason=None,
        updated_at=at,
    )
    if known.status == PENDING_CONFIRMATION:
        return corrected
    assert known.amount_minor is not None and attribution.funding_reference is not None
    credited = replace(corrected, status=check_transition(known.status, ATTRIBUTE))
    credit = ledger.payin_credit(
        known.currency,
        known.amount_minor,
        known.id,
        attribution.funding_reference,
        source=PLATFORM_SUSPENSE,
    )
    return PayinChange(credited, ATTRIBUTE, entries=(credit,))


def resend_books(known: Payin, notification: PayinNotification) -> bool:
    """Whether a resend (``check_resend`` passed) books ``known``: it was waiting for the bank
    and the bank now says booked. Any other resend changes nothing."""
    return known.status == PENDING_CONFIRMATION and notification.booking_status == BOOKED


def book(payin: Payin, *, now: datetime) -> PayinChange:
    """The bank booked ``payin``: credit its partner, or park it in suspense for review.

    Credit only when both the partner and the exact amount are known (invariant 6); otherwise
    the money waits in ``platform:suspense``. An amount that is not exact minor units cannot be
    journaled at all, so it parks with no journal and can only be returned.
    """
    booked = replace(payin, booking_status=BOOKED, updated_at=to_rfc3339(now))
    if booked.partner_id is None or booked.amount_minor is None:
        parked = replace(booked, status=check_transition(payin.status, PARK))
        suspense = (
            ()
            if parked.amount_minor is None
            else (SuspenseMove(SUSPENSE_PARK, parked.currency, parked.amount_minor),)
        )
        return PayinChange(parked, PARK, suspense=suspense)
    credited = replace(booked, status=check_transition(payin.status, CREDIT))
    credit = ledger.payin_credit(
        credited.currency, booked.amount_minor, credited.id, credited.funding_reference
    )
    return PayinChange(credited, CREDIT, entries=(credit,))


def check_attributable(payin: Payin) -> None:
    """Refuse an operator's attribution the pay-in itself rules out (status, then amount).

    The service calls this before it looks the partner up, so these refusals come first.
    """
    check_transition(payin.status, ATTRIBUTE)
    if payin.amount_minor is None:
        raise AmountPrecisionExceeded(
            f"The bank's amount {payin.amount_text} {payin.currency} has more decimals than "
            f"{payin.currency} allows; it can only be returned.",
            value=payin.amount_text,
        )


def attribute_by_operator(
    payin: Payin, partner: Partner, *, operator_key_id: str, now: datetime
) -> PayinChange:
    """An operator attributes a parked pay-in to ``partner``: suspense -> that partner.

    Audited with the operator's key id and the time; the credit carries the partner's funding
    reference for the currency, which the partner must have enabled. The review is over, so the
    reason it waited for is cleared (a credited pay-in with a reason is a flagged one).
    """
    check_attributable(payin)
    assert payin.amount_minor is not None
    enabled = partner.currency(payin.currency)
    if enabled is None:
        raise CurrencyNotEnabled(
            f"{payin.currency} is not enabled for {partner.id}.",
            currency=payin.currency,
            enabled=[pc.currency for pc in partner.currencies],
        )
    at = to_rfc3339(now)
    credited = replace(
        payin,
        partner_id=partner.id,
        status=check_transition(payin.status, ATTRIBUTE),
        attribution_method=METHOD_OPERATOR,
        attributed_by=operator_key_id,
        attributed_at=at,
        funding_reference=enabled.funding_reference,
        review_reason=None,
        updated_at=at,
    )
    credit = ledger.payin_credit(
        payin.currency,
        payin.amount_minor,
        payin.id,
        enabled.funding_reference,
        source=PLATFORM_SUSPENSE,
    )
    return PayinChange(credited, ATTRIBUTE, entries=(credit,))


def return_payin(payin: Payin, *, reason: str, now: datetime) -> PayinChange:
    """An operator sends ``payin`` back to the sender, with ``reason``.

    What moves depends on where the money is: nowhere yet (not booked), in suspense (parked),
    or with the partner (credited: a bank recall, ``payin_reversal`` linked to the credit, which
    the ledger refuses if the partner has spent the money; see ``recall_not_covered``).
    """
    returned = replace(
        payin,
        status=check_transition(payin.status, RETURN),
        return_reason=reason,
        updated_at=to_rfc3339(now),
    )
    if payin.status == CREDITED:
        assert payin.partner_id and payin.ledger_entry_id and payin.amount_minor is not None
        reversal = ledger.payin_reversal(
            payin.currency, payin.amount_minor, payin.id, payin.ledger_entry_id, reason
        )
        return PayinChange(returned, RETURN, entries=(reversal,))
    in_suspense = (
        payin.status == NEEDS_REVIEW
        and payin.booking_status == BOOKED
        and payin.amount_minor is not None
    )
    if in_suspense:
        assert payin.amount_minor is not None
        move = SuspenseMove(SUSPENSE_RETURN, payin.currency, payin.amount_minor)
        return PayinChange(returned, RETURN, suspense=(move,))
    return PayinChange(returned, RETURN)


def recall_not_covered(payin: Payin, spent: InsufficientBalance) -> InsufficientBalance:
    """The operator's refusal of a recall the partner's balance cannot cover.

    Nothing is posted (the ledger never overdraws ``available``); the refusal keeps the
    ledger's figures and says where the pay-in now waits.
    """
    return InsufficientBalance(
        f"The recall cannot be posted: {payin.partner_id} has already spent the money "
        f"(available {spent.extra['available']} {payin.currency}, short "
        f"{spent.extra['shortfall']}). Nothing was posted; the pay-in is flagged for "
        "review (GET /v1/payins?flagged=true).",
        **spent.extra,
    )


def recall_refused(payin: Payin, *, detail: str, now: datetime) -> PayinChange:
    """Flag a credited pay-in whose recall was refused, so the operator's queue shows it."""
    flagged = replace(
        payin,
        status=check_transition(payin.status, FLAG),
        review_reason=f"{RECALL_REFUSED}{detail}",
        updated_at=to_rfc3339(now),
    )
    return PayinChange(flagged, FLAG)

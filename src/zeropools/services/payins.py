"""Pay-ins: record bank credits, attribute them, credit once, review, return and recall.

Money that cannot be attributed with certainty never lands on a partner: it is parked in the
platform's suspense account (a platform journal) until an operator attributes it to a partner
(that partner's ``payin_credit`` takes it out of suspense) or returns it to the sender.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import cast

from zeropools.domain import ids, ledger, limits, payins, references
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import (
    AmountPrecisionExceeded,
    CurrencyNotEnabled,
    DomainError,
    Forbidden,
    InsufficientBalance,
    InvalidTransition,
    NotFound,
    PayinConflict,
    ValidationFailed,
)
from zeropools.domain.paging import Page
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN
from zeropools.domain.payins import Payin, PayinNotification
from zeropools.services import dispatch
from zeropools.services.commands import RecordPayin
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.services.ledger import post
from zeropools.store.protocol import Tx

SANDBOX_PREFIX = "sandbox"


@dataclass(frozen=True)
class Recorded:
    payin: Payin
    created: bool  # False: the bank transaction was already known (a resend)
    booked_now: bool = False  # a known pending pay-in that this notification booked


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


def _sandbox(ctx: Ctx, dep: Deployment, note: PayinNotification) -> PayinNotification:
    """A partner admin simulating its own top-up (test mode only, own reference only)."""
    assert ctx.actor is not None and ctx.actor.partner_id is not None
    if dep.mode != "test":
        raise Forbidden("Partners may simulate top-ups only on a test deployment.")
    # a partner's sandbox ids live in their own namespace: no collision, no probing of others
    scoped_id = f"{SANDBOX_PREFIX}:{ctx.actor.partner_id}:{note.bank_transaction_id}"
    if len(scoped_id) > limits.BANK_TRANSACTION_ID_CHARS_MAX:
        # hashed, never cut: two long ids differing at the end must stay two pay-ins
        digest = hashlib.sha256(note.bank_transaction_id.encode()).hexdigest()
        scoped_id = f"{SANDBOX_PREFIX}:{ctx.actor.partner_id}:sha256:{digest}"
    return replace(note, bank_transaction_id=scoped_id)


def record_in(dep: Deployment, ctx: Ctx, tx: Tx, note: PayinNotification) -> Recorded:
    """Record one bank credit inside ``tx`` (``record_many`` of one)."""
    [outcome] = record_many(dep, ctx, tx, [note])
    if isinstance(outcome, PayinConflict):
        raise outcome
    return outcome


@dataclass(frozen=True)
class _Booked:
    index: int
    payin: Payin
    stored: bool  # the pay-in row exists already (a pending one now booked)


def record_many(
    dep: Deployment, ctx: Ctx, tx: Tx, notes: Sequence[PayinNotification]
) -> list[Recorded | PayinConflict]:
    """Record bank credits inside ``tx``; credit their partners once booked and attributed.

    ``apply(commands) -> results`` (DESIGN.md): each notification gets its own outcome, in
    order, while the work is shared: the known pay-ins and the reference owners are read in one
    query each, and every partner's credits are chained in one posting under one lock (taken
    in partner order, so concurrent imports never deadlock).

    Idempotent on ``bank_transaction_id``: a resend changes nothing, a resend that is now
    ``booked`` credits the pending pay-in once, a resend with other money is a
    ``PayinConflict`` outcome (the others still apply).
    """
    known = tx.payins_by_bank_ids(sorted({note.bank_transaction_id for note in notes}))
    owners = tx.reference_owners(sorted(_candidate_references(notes)))
    now = to_rfc3339(ctx.now)
    results: list[Recorded | PayinConflict | None] = [None] * len(notes)
    credits: dict[str, list[_Booked]] = {}
    for index, note in enumerate(notes):
        prior = known.get(note.bank_transaction_id)
        if prior is None:
            payin = _new_payin(dep, ctx, note, owners.get, now)
            known[note.bank_transaction_id] = payin
            if note.booking_status != "booked":
                tx.insert_payin(payin)
                results[index] = Recorded(payin, created=True)
                continue
            stored = False
        else:
            try:
                payins.check_resend(prior, note)
            except PayinConflict as conflict:
                results[index] = conflict
                continue
            if not (
                prior.status == payins.PENDING_CONFIRMATION and note.booking_status == "booked"
            ):
                results[index] = Recorded(prior, created=False)
                continue
            payin, stored = prior, True
        booked = replace(payin, booking_status="booked", updated_at=now)
        if booked.partner_id is None or booked.amount_minor is None:
            parked = _park(ctx, tx, booked, stored)
            known[note.bank_transaction_id] = parked
            results[index] = Recorded(parked, created=not stored, booked_now=stored)
        else:
            credits.setdefault(booked.partner_id, []).append(_Booked(index, booked, stored))
            # a repeat of this bank id later in the batch is a resend of a credited pay-in
            known[note.bank_transaction_id] = replace(booked, status=payins.CREDITED)
    for partner_id in sorted(credits):
        for item, credited in _credit_all(dep, ctx, tx, partner_id, credits[partner_id]):
            results[item.index] = Recorded(
                credited, created=not item.stored, booked_now=item.stored
            )
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


def _candidate_references(notes: Sequence[PayinNotification]) -> set[str]:
    """Every RF reference any notification could be attributed by (one lookup for all)."""
    found: set[str] = set()
    for note in notes:
        structured = references.normalize(note.reference or "")
        if structured.startswith("RF"):
            found.add(structured)
        found |= payins.find_references(note.remittance_info or "")[0]
    return found


def _new_payin(
    dep: Deployment,
    ctx: Ctx,
    note: PayinNotification,
    lookup: Callable[[str], payins.ReferenceOwner | None],
    now: str,
) -> Payin:
    attribution = payins.attribute(note, lookup)
    review_reason = attribution.review_reason
    partner_id = attribution.partner_id
    if note.amount_minor is None:
        partner_id = None
        review_reason = (
            f"amount {note.amount} has more decimals than {note.currency} allows"
            if note.currency in dep.currencies.scales
            else f"currency {note.currency} is not known to this deployment"
        )
    if ctx.actor is not None and not ctx.actor.is_operator and partner_id != ctx.actor.partner_id:
        raise Forbidden(
            "A sandbox top-up must carry your own funding reference (GET /v1/funding-instructions)."
        )
    return Payin(
        id=ids.new_id(ids.PAYIN),
        bank_transaction_id=note.bank_transaction_id,
        partner_id=partner_id,
        amount_minor=note.amount_minor,
        currency=note.currency,
        status=payins.PENDING_CONFIRMATION,
        booking_status="pending",
        reference=note.reference,
        remittance_info=note.remittance_info,
        debtor_name=note.debtor_name,
        debtor_iban=note.debtor_iban,
        value_date=note.value_date,
        attribution_method=attribution.method if partner_id else None,
        attributed_by="system" if partner_id else None,
        review_reason=review_reason,
        ledger_entry_id=None,
        funding_reference=attribution.funding_reference if partner_id else None,
        request_id=ctx.request_id,
        created_at=now,
        updated_at=now,
        amount_text=note.amount if note.amount_minor is None else None,
        attributed_at=now if partner_id else None,
    )


def record_payin(dep: Deployment, ctx: Ctx, note: PayinNotification) -> Recorded:
    return cast(Recorded, dispatch.apply(dep, ctx, RecordPayin(note)))


def record_command_in(dep: Deployment, ctx: Ctx, tx: Tx, command: RecordPayin) -> Recorded:
    """A bank credit from the operator, or a partner admin's sandbox top-up (test mode)."""
    actor = require_role(ctx, OPERATOR, PARTNER_ADMIN)
    note = command.note if actor.is_operator else _sandbox(ctx, dep, command.note)
    return record_in(dep, ctx, tx, note)


def _park(ctx: Ctx, tx: Tx, booked: Payin, stored: bool) -> Payin:
    """Booked but not attributable: the money waits in the platform's suspense account."""
    parked = replace(booked, status=payins.NEEDS_REVIEW)
    # the pay-in row first: its suspense journal references it
    (tx.update_payin if stored else tx.insert_payin)(parked)
    if parked.amount_minor is not None:
        tx.insert_platform_entry(
            ledger.suspense_entry(
                ledger.SUSPENSE_PARK,
                parked.currency,
                parked.amount_minor,
                parked.id,
                ctx.request_id,
                ctx.now,
            )
        )
    return parked


def _credit_all(
    dep: Deployment, ctx: Ctx, tx: Tx, partner_id: str, items: Sequence[_Booked]
) -> list[tuple[_Booked, Payin]]:
    """One posting for all of a partner's booked, attributed pay-ins (invariant 6: booked,
    and once: a unique index on each pay-in's ``payin_credit`` enforces it again)."""
    drafts = []
    for item in items:
        assert item.payin.amount_minor is not None
        drafts.append(
            ledger.payin_credit(
                item.payin.currency,
                item.payin.amount_minor,
                item.payin.id,
                item.payin.funding_reference,
            )
        )
    posting = post(dep, ctx, tx, partner_id, drafts)
    done, inserts = [], []
    for item, entry in zip(items, posting.entries, strict=True):
        credited = replace(item.payin, status=payins.CREDITED, ledger_entry_id=entry.id)
        if item.stored:
            tx.update_payin(credited)
        else:
            inserts.append(credited)
        done.append((item, credited))
    tx.insert_payins(inserts)
    return done


def _load(tx: Tx, payin_id: str) -> Payin:
    payin = tx.get_payin(payin_id)
    if payin is None:
        raise NotFound(f"No pay-in {payin_id!r}.")
    return payin


def attribute_in(dep: Deployment, ctx: Ctx, tx: Tx, payin_id: str, partner_id: str) -> Payin:
    """An operator attributes a pay-in from the review queue: suspense -> that partner."""
    actor = require_role(ctx, OPERATOR)
    payin = _load(tx, payin_id)
    if payin.status != payins.NEEDS_REVIEW:
        raise InvalidTransition(
            f"Only pay-ins in needs_review can be attributed; this one is {payin.status}.",
            from_status=payin.status,
            to_status=payins.CREDITED,
        )
    if payin.amount_minor is None:
        raise AmountPrecisionExceeded(
            f"The bank's amount {payin.amount_text} {payin.currency} has more decimals than "
            f"{payin.currency} allows; it can only be returned.",
            value=payin.amount_text,
        )
    partner = tx.get_partner(partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id!r}.")
    enabled = partner.currency(payin.currency)
    if enabled is None:
        raise CurrencyNotEnabled(
            f"{payin.currency} is not enabled for {partner_id}.",
            currency=payin.currency,
            enabled=[pc.currency for pc in partner.currencies],
        )
    audited = replace(
        payin,
        attribution_method=payins.METHOD_OPERATOR,
        attributed_by=actor.key_id,
        attributed_at=to_rfc3339(ctx.now),
        funding_reference=enabled.funding_reference,
    )
    draft = ledger.payin_credit(
        payin.currency,
        payin.amount_minor,
        payin.id,
        enabled.funding_reference,
        source=ledger.PLATFORM_SUSPENSE,
    )
    posting = post(dep, ctx, tx, partner_id, [draft])
    credited = replace(
        audited,
        partner_id=partner_id,
        status=payins.CREDITED,
        ledger_entry_id=posting.entries[0].id,
        updated_at=to_rfc3339(ctx.now),
    )
    tx.update_payin(credited)
    return credited


def return_in(dep: Deployment, ctx: Ctx, tx: Tx, payin_id: str, reason: str) -> Payin:
    """Send a pay-in back: from review (out of suspense), or a bank recall of a credited one.

    A recall posts ``payin_reversal`` linked to the credit; if the partner already spent the
    money, ``append`` refuses it with ``insufficient_balance`` rather than overdraw, and the
    caller flags the pay-in for the operator (``flag_refused_recall``).
    """
    require_role(ctx, OPERATOR)
    payin = _load(tx, payin_id)
    now = to_rfc3339(ctx.now)
    if payin.status == payins.RETURNED:
        raise InvalidTransition(
            "This pay-in was already returned.",
            from_status=payin.status,
            to_status=payins.RETURNED,
        )
    if payin.status == payins.NEEDS_REVIEW and payin.booking_status == "booked":
        if payin.amount_minor is not None:
            tx.insert_platform_entry(
                ledger.suspense_entry(
                    ledger.SUSPENSE_RETURN,
                    payin.currency,
                    payin.amount_minor,
                    payin.id,
                    ctx.request_id,
                    ctx.now,
                )
            )
    elif payin.status == payins.CREDITED:
        assert payin.partner_id and payin.ledger_entry_id and payin.amount_minor is not None
        draft = ledger.payin_reversal(
            payin.currency, payin.amount_minor, payin.id, payin.ledger_entry_id, reason
        )
        try:
            post(dep, ctx, tx, payin.partner_id, [draft])
        except InsufficientBalance as spent:
            raise InsufficientBalance(
                f"The recall cannot be posted: {payin.partner_id} has already spent the money "
                f"(available {spent.extra['available']} {payin.currency}, short "
                f"{spent.extra['shortfall']}). Nothing was posted; the pay-in is flagged for "
                "review (GET /v1/payins?flagged=true).",
                **spent.extra,
            ) from None
    returned = replace(payin, status=payins.RETURNED, return_reason=reason, updated_at=now)
    tx.update_payin(returned)
    return returned


def flag_refused_recall(ctx: Ctx, payin_id: str) -> Callable[[Tx, DomainError], None]:
    """After a refused return: note on the pay-in why, so the operator queue shows it."""

    def on_refusal(tx: Tx, error: DomainError) -> None:
        if not isinstance(error, InsufficientBalance):
            return  # only a recall of spent money needs the operator's eye
        payin = tx.get_payin(payin_id)
        if payin is None or payin.status != payins.CREDITED:
            return
        flagged = replace(
            payin,
            review_reason=f"recall refused: {error.detail}",
            updated_at=to_rfc3339(ctx.now),
        )
        tx.update_payin(flagged)

    return on_refusal


def check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed.field("reason", "required", "reason: required")
    return reason.strip()[: limits.REASON_CHARS_MAX]


def list_payins(
    dep: Deployment,
    ctx: Ctx,
    partner_id: str | None,
    status: str | None,
    page: Page,
    flagged: bool | None = None,
) -> list[Payin]:
    actor = require_role(ctx, OPERATOR, PARTNER_ADMIN)
    if status is not None and status not in payins.STATUSES:
        raise ValidationFailed(
            "Unknown pay-in status.",
            errors=[{"field": "status", "message": f"one of {', '.join(payins.STATUSES)}"}],
        )
    if not actor.is_operator:
        if partner_id and partner_id != actor.partner_id:
            raise NotFound(f"No partner {partner_id!r}.")
        partner_id = actor.partner_id
    return dep.store.read(lambda tx: tx.list_payins(partner_id, status, page, flagged))


def get_payin(dep: Deployment, ctx: Ctx, payin_id: str) -> Payin:
    actor = require_role(ctx, OPERATOR, PARTNER_ADMIN)
    payin = dep.store.read(lambda tx: tx.get_payin(payin_id))
    if payin is None or (not actor.is_operator and payin.partner_id != actor.partner_id):
        raise NotFound(f"No pay-in {payin_id!r}.")
    return payin

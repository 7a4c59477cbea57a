"""Pay-ins: record bank credits, attribute them, credit once, review, return and recall.

Money that cannot be attributed with certainty never lands on a partner: it is parked in the
platform's suspense account (a platform journal) until an operator attributes it to a partner
(that partner's ``payin_credit`` takes it out of suspense) or returns it to the sender.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from zeropools.domain import ids, ledger, limits, payins
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import (
    AmountPrecisionExceeded,
    CurrencyNotEnabled,
    DomainError,
    Forbidden,
    InsufficientBalance,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN
from zeropools.domain.payins import Payin, PayinNotification
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.services.ledger import post
from zeropools.store.protocol import Page, Tx

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
        raise ValidationFailed(
            "The pay-in notification is invalid.",
            errors=[{"field": "currency", "message": "an ISO 4217 code such as EUR"}],
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
    """Record one bank credit inside ``tx``; credit its partner once booked and attributed.

    Idempotent on ``bank_transaction_id``: a resend changes nothing, a resend that is now
    ``booked`` credits the pending pay-in once, a resend with other money is ``payin_conflict``.
    """
    known = tx.payin_by_bank_id(note.bank_transaction_id)
    if known is not None:
        payins.check_resend(known, note)
        if known.status == payins.PENDING_CONFIRMATION and note.booking_status == "booked":
            booked = _on_booked(dep, ctx, tx, known, tx.update_payin)
            return Recorded(booked, created=False, booked_now=True)
        return Recorded(known, created=False)
    now = to_rfc3339(ctx.now)
    attribution = payins.attribute(note, tx.reference_owner)
    review_reason = attribution.review_reason
    partner_id = attribution.partner_id
    if note.amount_minor is None:
        partner_id = None
        review_reason = (
            f"amount {note.amount} has more decimals than {note.currency} allows"
            if note.currency in dep.currencies.scales
            else f"currency {note.currency} is not known to this deployment"
        )
    payin = Payin(
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
    if ctx.actor is not None and not ctx.actor.is_operator and partner_id != ctx.actor.partner_id:
        raise Forbidden(
            "A sandbox top-up must carry your own funding reference (GET /v1/funding-instructions)."
        )
    if note.booking_status == "booked":
        # written once, in its final state: one statement fewer per credit
        return Recorded(_on_booked(dep, ctx, tx, payin, tx.insert_payin), created=True)
    tx.insert_payin(payin)
    return Recorded(payin, created=True)


def record_payin(dep: Deployment, ctx: Ctx, note: PayinNotification) -> Recorded:
    actor = require_role(ctx, OPERATOR, PARTNER_ADMIN)
    if not actor.is_operator:
        note = _sandbox(ctx, dep, note)
    return dep.store.write(lambda tx: record_in(dep, ctx, tx, note))


def _on_booked(
    dep: Deployment, ctx: Ctx, tx: Tx, payin: Payin, save: Callable[[Payin], None]
) -> Payin:
    """The bank booked it: credit the attributed partner once, or park it in suspense.

    Invariant 6: credit only booked funding, at most once (the store enforces it again with a
    unique index on the pay-in's ``payin_credit``). ``save`` inserts a new pay-in or updates a
    known one.
    """
    now = to_rfc3339(ctx.now)
    if payin.partner_id is None or payin.amount_minor is None:
        parked = replace(payin, status=payins.NEEDS_REVIEW, booking_status="booked", updated_at=now)
        save(parked)  # before its suspense journal, which references it
        if payin.amount_minor is not None:
            tx.insert_platform_entry(
                ledger.suspense_entry(
                    ledger.SUSPENSE_PARK,
                    payin.currency,
                    payin.amount_minor,
                    payin.id,
                    ctx.request_id,
                    ctx.now,
                )
            )
        return parked
    draft = ledger.payin_credit(
        payin.currency, payin.amount_minor, payin.id, payin.funding_reference
    )
    booked = replace(payin, booking_status="booked")
    return _credit(dep, ctx, tx, booked, payin.partner_id, draft, save)


def _credit(
    dep: Deployment,
    ctx: Ctx,
    tx: Tx,
    payin: Payin,
    partner_id: str,
    draft: ledger.EntryDraft,
    save: Callable[[Payin], None],
) -> Payin:
    posting = post(dep, ctx, tx, partner_id, [draft])
    credited = replace(
        payin,
        partner_id=partner_id,
        status=payins.CREDITED,
        ledger_entry_id=posting.entries[0].id,
        updated_at=to_rfc3339(ctx.now),
    )
    save(credited)
    return credited


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
    return _credit(dep, ctx, tx, audited, partner_id, draft, tx.update_payin)


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
        raise ValidationFailed(
            "reason: required", errors=[{"field": "reason", "message": "required"}]
        )
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

"""Recording bank credit notifications: attribute, credit once, or park for review."""

from __future__ import annotations

from dataclasses import dataclass, replace

from zeropools.domain import ids, ledger, limits, payins
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import NotFound, ValidationFailed
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN
from zeropools.domain.payins import Payin, PayinNotification
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.services.ledger import post
from zeropools.store.protocol import Page, Tx


@dataclass(frozen=True)
class Recorded:
    payin: Payin
    created: bool  # False: the bank transaction was already known (a resend)


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
) -> PayinNotification:
    """Validate a notification's fields (API or bank file) into a domain value."""
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
    dep.currencies.scale(currency)  # CurrencyNotEnabled for a currency the deployment lacks
    assert isinstance(currency, str)
    amount_minor = dep.currencies.parse(amount, currency)
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


def record_payin(dep: Deployment, ctx: Ctx, note: PayinNotification) -> Recorded:
    """Record a bank credit; credit its partner once it is booked and attributed.

    Idempotent on ``bank_transaction_id``: a resend changes nothing, a resend that is now
    ``booked`` credits the pending pay-in once, a resend with other money is ``payin_conflict``.
    """
    require_role(ctx, OPERATOR)

    def work(tx: Tx) -> Recorded:
        known = tx.payin_by_bank_id(note.bank_transaction_id)
        if known is not None:
            payins.check_resend(known, note)
            if known.status == payins.PENDING_CONFIRMATION and note.booking_status == "booked":
                return Recorded(_on_booked(dep, ctx, tx, known), created=False)
            return Recorded(known, created=False)
        now = to_rfc3339(ctx.now)
        attribution = payins.attribute(note, tx.reference_owner)
        payin = Payin(
            id=ids.new_id(ids.PAYIN),
            bank_transaction_id=note.bank_transaction_id,
            partner_id=attribution.partner_id,
            amount_minor=note.amount_minor,
            currency=note.currency,
            status=payins.PENDING_CONFIRMATION,
            booking_status="pending",
            reference=note.reference,
            remittance_info=note.remittance_info,
            debtor_name=note.debtor_name,
            debtor_iban=note.debtor_iban,
            value_date=note.value_date,
            attribution_method=attribution.method,
            attributed_by="system" if attribution.partner_id else None,
            review_reason=attribution.review_reason,
            ledger_entry_id=None,
            funding_reference=attribution.funding_reference,
            request_id=ctx.request_id,
            created_at=now,
            updated_at=now,
        )
        tx.insert_payin(payin)
        if note.booking_status == "booked":
            payin = _on_booked(dep, ctx, tx, payin)
        return Recorded(payin, created=True)

    return dep.store.write(work)


def _on_booked(dep: Deployment, ctx: Ctx, tx: Tx, payin: Payin) -> Payin:
    """The bank booked it: credit the attributed partner once, or park it for review.

    Invariant 6: credit only booked funding, at most once (the store enforces it again with a
    unique index on the pay-in's ``payin_credit``).
    """
    if payin.partner_id is None:
        parked = replace(
            payin,
            status=payins.NEEDS_REVIEW,
            booking_status="booked",
            updated_at=to_rfc3339(ctx.now),
        )
        tx.update_payin(parked)
        return parked
    posting = post(
        dep,
        ctx,
        tx,
        payin.partner_id,
        [
            ledger.payin_credit(
                payin.currency, payin.amount_minor, payin.id, payin.funding_reference
            )
        ],
    )
    credited = replace(
        payin,
        status=payins.CREDITED,
        booking_status="booked",
        ledger_entry_id=posting.entries[0].id,
        updated_at=to_rfc3339(ctx.now),
    )
    tx.update_payin(credited)
    return credited


def list_payins(
    dep: Deployment, ctx: Ctx, partner_id: str | None, status: str | None, page: Page
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
    return dep.store.read(lambda tx: tx.list_payins(partner_id, status, page))


def get_payin(dep: Deployment, ctx: Ctx, payin_id: str) -> Payin:
    actor = require_role(ctx, OPERATOR, PARTNER_ADMIN)
    payin = dep.store.read(lambda tx: tx.get_payin(payin_id))
    if payin is None or (not actor.is_operator and payin.partner_id != actor.partner_id):
        raise NotFound(f"No pay-in {payin_id!r}.")
    return payin

"""Small helpers shared by the service tests: contexts, onboarding, pay-in notifications.

Kept free of pytest so the helper process of ``test_concurrency`` can import the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from zeropools.domain import ids
from zeropools.domain.ledger import LedgerEntry
from zeropools.services import payins as payin_service
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.services.partners import NewPartner, create_partner


def ctx_for(role: str = "operator", partner_id: str | None = None) -> Ctx:
    """A context as the API builds it: a fresh request id, now, and the calling key."""
    return Ctx(
        request_id=ids.new_id(ids.REQUEST),
        now=datetime.now(UTC),
        actor=Actor(key_id=ids.new_id(ids.API_KEY), role=role, partner_id=partner_id),
    )


def onboard(
    dep: Deployment,
    currencies: Sequence[str] = ("EUR",),
    name: str = "Acme Wallet",
    balance_model: str = "debit",
) -> NewPartner:
    return create_partner(
        dep, ctx_for(), name=name, balance_model=balance_model, currencies=list(currencies)
    )


def reference_of(new: NewPartner, currency: str = "EUR") -> str:
    pc = new.partner.currency(currency)
    assert pc is not None, currency
    return pc.funding_reference


def send_payin(
    dep: Deployment,
    bank_transaction_id: str,
    amount: str,
    *,
    currency: str = "EUR",
    booking_status: str = "booked",
    reference: str | None = None,
    remittance_info: str | None = None,
    ctx: Ctx | None = None,
) -> payin_service.Recorded:
    """What ``POST /v1/payins`` does: validate the notification, then record it."""
    note = payin_service.notification(
        dep,
        bank_transaction_id=bank_transaction_id,
        amount=amount,
        currency=currency,
        booking_status=booking_status,
        reference=reference,
        remittance_info=remittance_info,
        debtor_name="Debtor GmbH",
    )
    return payin_service.record_payin(dep, ctx or ctx_for(), note)


def entries_of(dep: Deployment, partner_id: str) -> list[LedgerEntry]:
    return dep.store.read(lambda tx: list(tx.iter_entries(partner_id)))


def available_minor(dep: Deployment, partner_id: str, currency: str = "EUR") -> int:
    state = dep.store.read(lambda tx: tx.ledger_state(partner_id))
    return state.balances[currency].available_minor

"""Service-layer shortcuts: onboard partners, send pay-ins and read ledgers without HTTP.

Everything here calls ``zeropools.services`` (or reads the store) directly, as the operator
unless a ``Ctx`` says otherwise; the HTTP counterparts are in ``support.http``.
"""

from __future__ import annotations

from collections.abc import Sequence

from support.contexts import ctx_for
from zeropools.domain.ledger import LedgerEntry
from zeropools.services import partners
from zeropools.services import payins as payin_service
from zeropools.services.context import Ctx, Deployment
from zeropools.services.partners import NewPartner


def onboard(
    dep: Deployment,
    currencies: Sequence[str] = ("EUR",),
    name: str = "Acme Wallet",
    balance_model: str = "debit",
) -> NewPartner:
    """A new partner, created by the operator through ``services.partners``."""
    return partners.create_partner(
        dep, ctx_for(), name=name, balance_model=balance_model, currencies=list(currencies)
    )


def reference_of(new: NewPartner, currency: str = "EUR") -> str:
    """The funding reference of ``new`` in ``currency``."""
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
    debtor_name: str | None = "Debtor GmbH",
    ctx: Ctx | None = None,
) -> payin_service.Recorded:
    """What ``POST /v1/payins`` does: validate the notification, then record it.

    ``debtor_name`` is only stored, never used for attribution; any name will do.
    """
    note = payin_service.notification(
        dep,
        bank_transaction_id=bank_transaction_id,
        amount=amount,
        currency=currency,
        booking_status=booking_status,
        reference=reference,
        remittance_info=remittance_info,
        debtor_name=debtor_name,
    )
    return payin_service.record_payin(dep, ctx or ctx_for(), note)


def entries_of(dep: Deployment, partner_id: str) -> list[LedgerEntry]:
    """The partner's ledger entries as stored, in sequence order."""
    return dep.store.read(lambda tx: list(tx.iter_entries(partner_id)))


def balance_minor(dep: Deployment, partner_id: str, currency: str = "EUR") -> tuple[int, int]:
    """``(available, reserved)`` as stored, in minor units."""
    state = dep.store.read(lambda tx: tx.ledger_state(partner_id))
    balance = state.balances[currency]
    return balance.available_minor, balance.reserved_minor

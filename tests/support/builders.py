"""Service-layer shortcuts: onboard, fund, quote, read ledgers and suspense, without HTTP.

Everything here calls ``zeropools.services`` (or reads the store) directly, as the operator
unless a ``Ctx`` says otherwise (quotes are the partner_server key's); the HTTP counterparts are
in ``support.http``. Also the references people mistype (``typo``, ``spaced_lower``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from support.contexts import ctx_for, server_ctx
from zeropools.domain import references
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.payins import find_references
from zeropools.services import partners, trading
from zeropools.services import payins as payin_service
from zeropools.services.context import Ctx, Deployment
from zeropools.services.partners import NewPartner

# -- onboarding, pay-ins, quotes ------------------------------------------------------------


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


def new_partner_id(dep: Deployment, balance_model: str = "debit", name: str = "Acme Wallet") -> str:
    """A new EUR partner of ``balance_model``; its id."""
    return onboard(dep, name=name, balance_model=balance_model).partner.id


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


def fund(dep: Deployment, partner_id: str, amount: str, currency: str = "EUR") -> None:
    """Credit ``amount`` through a booked pay-in carrying the partner's funding reference."""
    partner = dep.store.read(lambda tx: tx.get_partner(partner_id))
    assert partner is not None
    pc = partner.currency(currency)
    assert pc is not None
    recorded = send_payin(
        dep,
        f"bank-{secrets.token_hex(8)}",
        amount,
        currency=currency,
        booking_status="booked",
        reference=pc.funding_reference,
    )
    assert recorded.payin.status == "credited", recorded


def quote(dep: Deployment, partner_id: str, amount: str, now: datetime | None = None) -> str:
    """A firm EUR-USDT quote for ``amount``, as the partner_server key asks; its id."""
    view = trading.create_quote(
        dep,
        server_ctx(partner_id, now),
        pool_id="EUR-USDT",
        source_amount=amount,
        partner_order_id=None,
    )
    return view.quote.id


# -- reading back ---------------------------------------------------------------------------


def entries_of(dep: Deployment, partner_id: str) -> list[LedgerEntry]:
    """The partner's ledger entries as stored, in sequence order."""
    return dep.store.read(lambda tx: list(tx.iter_entries(partner_id)))


def balance_minor(dep: Deployment, partner_id: str, currency: str = "EUR") -> tuple[int, int]:
    """``(available, reserved)`` as stored, in minor units."""
    state = dep.store.read(lambda tx: tx.ledger_state(partner_id))
    balance = state.balances[currency]
    return balance.available_minor, balance.reserved_minor


def all_entries(dep: Deployment) -> list[LedgerEntry]:
    """Every partner's ledger entries as stored, partner by partner."""
    partner_ids = dep.store.read(lambda tx: tx.partner_ids())
    return [entry for partner_id in partner_ids for entry in entries_of(dep, partner_id)]


def suspense(dep: Deployment) -> dict[str, tuple[int, int]]:
    """Per currency: (suspense by its journals, sum of booked needs_review pay-ins)."""
    return dep.store.read(lambda tx: tx.suspense_totals())


def suspense_minor(dep: Deployment, currency: str) -> int:
    """The suspense balance of ``currency``, after checking it equals the review queue's sum."""
    journals, parked = suspense(dep).get(currency, (0, 0))
    assert journals == parked, (currency, journals, parked)
    return journals


# -- references as people mistype them ------------------------------------------------------


def typo(reference: str) -> str:
    """``reference`` with wrong check digits, chosen so that no prefix of it passes mod 97.

    In free text the end of a reference is not marked, so the parser tries every length; a
    typo whose shorter prefix happens to validate is read as an unknown reference instead (see
    ``test_a_mistyped_reference_in_free_text_is_reported_as_mistyped``). Here we want the
    plain case, deterministically.
    """
    for shift in range(1, 100):
        digits = f"{(int(reference[2:4]) + shift) % 100:02d}"
        candidate = f"RF{digits}{reference[4:]}"
        found, started = find_references(candidate)
        if started and not found and not references.is_valid(candidate):
            return candidate
    raise AssertionError(f"no typo of {reference} without a valid prefix")


def spaced_lower(reference: str) -> str:
    """How a human retypes a reference: lower case, groups of four, a line break inside."""
    printed = references.format_printed(reference).lower()
    return printed[:9] + "\n" + printed[9:]

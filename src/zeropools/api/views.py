"""Domain values to JSON objects: decimal strings with the currency's scale, ``id`` + ``object``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from zeropools.domain import references
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.money import Currencies
from zeropools.domain.partners import ApiKey, FundingInstructions, Partner
from zeropools.domain.payins import Payin
from zeropools.services.balances import BalanceView

T = TypeVar("T")
JSON = dict[str, Any]


def page(items: Sequence[T], limit: int, render: Callable[[T], JSON]) -> JSON:
    """A list envelope; callers fetch ``limit + 1`` items so ``has_more`` needs no count."""
    return {
        "object": "list",
        "data": [render(item) for item in items[:limit]],
        "has_more": len(items) > limit,
    }


def partner(p: Partner, money: Currencies) -> JSON:
    return {
        "id": p.id,
        "object": "partner",
        "name": p.name,
        "balance_model": p.balance_model,
        "currencies": [pc.currency for pc in p.currencies],
        "low_balance_threshold": {
            pc.currency: money.format(pc.low_balance_threshold_minor, pc.currency)
            for pc in p.currencies
            if pc.low_balance_threshold_minor is not None
        },
        "funding_references": {pc.currency: pc.funding_reference for pc in p.currencies},
        "created_at": p.created_at,
    }


def api_key(key: ApiKey, secret: str | None = None) -> JSON:
    body: JSON = {
        "id": key.id,
        "object": "api_key",
        "partner_id": key.partner_id,
        "role": key.role,
        "mode": key.mode,
        "last4": key.last4,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }
    if secret is not None:
        body["secret"] = secret  # shown once
    return body


def funding(fi: FundingInstructions) -> JSON:
    return {
        "id": f"fi_{fi.partner_id.removeprefix('partner_')}_{fi.currency}",
        "object": "funding_instructions",
        "partner_id": fi.partner_id,
        "currency": fi.currency,
        "iban": fi.iban,
        "bic": fi.bic,
        "account_holder": fi.account_holder,
        "reference": fi.reference,
        "reference_printed": references.format_printed(fi.reference),
        "instructions": fi.instructions,
    }


def balance(view: BalanceView, money: Currencies) -> JSON:
    fmt = money.format
    threshold = view.low_balance_threshold_minor
    return {
        "id": f"bal_{view.partner_id.removeprefix('partner_')}_{view.currency}",
        "object": "balance",
        "partner_id": view.partner_id,
        "currency": view.currency,
        "available": fmt(view.available_minor, view.currency),
        "reserved": fmt(view.reserved_minor, view.currency),
        "pending": fmt(view.pending_minor, view.currency),
        "total": fmt(view.total_minor, view.currency),
        "low_balance_threshold": None if threshold is None else fmt(threshold, view.currency),
        "low": view.low,
        "as_of": view.as_of,
    }


def ledger_entry(entry: LedgerEntry, money: Currencies) -> JSON:
    fmt = money.format
    links = entry.links
    return {
        "id": entry.id,
        "object": "ledger_entry",
        "partner_id": entry.partner_id,
        "type": entry.type,
        "currency": entry.currency,
        "amount": fmt(entry.amount_minor, entry.currency),
        "available_after": fmt(entry.available_after_minor, entry.currency),
        "reserved_after": fmt(entry.reserved_after_minor, entry.currency),
        "trade_id": links.trade_id,
        "quote_id": links.quote_id,
        "payin_id": links.payin_id,
        "related_entry_id": links.related_entry_id,
        "funding_reference": links.funding_reference,
        "partner_order_id": links.partner_order_id,
        "reason": entry.reason,
        "request_id": entry.request_id,
        "created_at": entry.created_at,
        "sequence": entry.sequence,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def payin(p: Payin, money: Currencies) -> JSON:
    attribution = (
        None
        if p.attribution_method is None
        else {"method": p.attribution_method, "by": p.attributed_by}
    )
    return {
        "id": p.id,
        "object": "payin",
        "bank_transaction_id": p.bank_transaction_id,
        "partner_id": p.partner_id,
        "amount": money.format(p.amount_minor, p.currency),
        "currency": p.currency,
        "status": p.status,
        "booking_status": p.booking_status,
        "reference": p.reference,
        "remittance_info": p.remittance_info,
        "debtor_name": p.debtor_name,
        "debtor_iban": p.debtor_iban,
        "value_date": p.value_date,
        "attribution": attribution,
        "review_reason": p.review_reason,
        "ledger_entry_id": p.ledger_entry_id,
        "funding_reference": p.funding_reference,
        "request_id": p.request_id,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }

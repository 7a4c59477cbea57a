"""Domain values to JSON objects: decimal strings with the currency's scale, ``id`` + ``object``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from zeropools.domain import references
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.money import Currencies
from zeropools.domain.partners import ApiKey, FundingInstructions, Partner
from zeropools.domain.payins import Payin
from zeropools.domain.periods import Period, SigningKey
from zeropools.domain.pools import Pool
from zeropools.domain.readmodels import BalanceView, Capabilities, QuoteView, TradeView
from zeropools.domain.trades import Refusal

T = TypeVar("T")
JSON = dict[str, Any]


def page(items: Sequence[T], limit: int, render: Callable[[T], JSON]) -> JSON:
    """A list envelope of at most ``limit`` items; one more in ``items`` means ``has_more``
    (``Page.of`` fetched it)."""
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
        "last_used_at": key.last_used_at,
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
        else {"method": p.attribution_method, "by": p.attributed_by, "at": p.attributed_at}
    )
    amount = p.amount_text if p.amount_minor is None else money.format(p.amount_minor, p.currency)
    return {
        "id": p.id,
        "object": "payin",
        "bank_transaction_id": p.bank_transaction_id,
        "partner_id": p.partner_id,
        "amount": amount,
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
        "flagged": p.status == "credited" and p.review_reason is not None,
        "return_reason": p.return_reason,
        "ledger_entry_id": p.ledger_entry_id,
        "funding_reference": p.funding_reference,
        "request_id": p.request_id,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def pool(p: Pool, money: Currencies) -> JSON:
    return {
        "id": p.id,
        "object": "pool",
        "source_currency": p.source_currency,
        "target_asset": p.target_asset,
        "min_amount": money.format(p.min_amount_minor, p.source_currency),
        "max_amount": money.format(p.max_amount_minor, p.source_currency),
        "fee_bps": p.fee_bps,
        "enabled": p.enabled,
    }


def quote(view: QuoteView, money: Currencies) -> JSON:
    q = view.quote
    return {
        "id": q.id,
        "object": "quote",
        "partner_id": q.partner_id,
        "pool_id": q.pool_id,
        "source_amount": money.format(q.source_amount_minor, q.source_currency),
        "source_currency": q.source_currency,
        "target_amount": money.format(q.target_amount_minor, q.target_asset),
        "target_asset": q.target_asset,
        "rate": q.rate,
        "fee": money.format(q.fee_minor, q.source_currency),
        "fee_bps": q.fee_bps,
        "partner_order_id": q.partner_order_id,
        "status": view.status,
        "created_at": to_rfc3339(q.created_at),
        "expires_at": to_rfc3339(q.expires_at),
    }


def trade(view: TradeView, money: Currencies) -> JSON:
    t = view.trade
    delivered = t.delivered_amount_minor
    return {
        "id": t.id,
        "object": "trade",
        "partner_id": t.partner_id,
        "quote_id": t.quote_id,
        "pool_id": t.pool_id,
        "partner_order_id": t.partner_order_id,
        "status": t.status,
        "balance_model": t.balance_model,
        "source_amount": money.format(t.source_amount_minor, t.currency),
        "currency": t.currency,
        "target_amount": money.format(t.target_amount_minor, t.asset),
        "asset": t.asset,
        "delivered_amount": None if delivered is None else money.format(delivered, t.asset),
        "tx_hash": t.tx_hash,
        "failure_reason": t.failure_reason,
        "destination": t.destination,
        "ledger_entry_ids": [entry.id for entry in view.entries],
        "created_at": to_rfc3339(t.created_at),
        "updated_at": to_rfc3339(t.updated_at),
    }


def capabilities(caps: Capabilities, money: Currencies) -> JSON:
    partner = caps.partner
    executable = bool(caps.fundable_currencies) and any(p.enabled for p in caps.pools)
    return {
        "id": f"cap_{partner.id.removeprefix('partner_')}",
        "object": "capabilities",
        "partner_id": partner.id,
        "mode": caps.mode,
        "balance_model": partner.balance_model,
        "currencies": [pc.currency for pc in partner.currencies],
        "funded_currencies": list(caps.fundable_currencies),
        "funding_methods": ["bank_transfer"],
        "pools": [pool(p, money) for p in caps.pools],
        "actions": {
            "create_quote": any(p.enabled for p in caps.pools),
            "execute": executable,
            "release": True,
            "read_ledger": True,
        },
    }


def refusal(r: Refusal) -> JSON:
    return {
        "id": r.id,
        "object": "trade_refusal",
        "partner_id": r.partner_id,
        "quote_id": r.quote_id,
        "partner_order_id": r.partner_order_id,
        "code": r.code,
        "detail": r.detail,
        "request_id": r.request_id,
        "created_at": r.created_at,
    }


def event_list_bytes(bodies: Sequence[bytes], has_more: bool) -> bytes:
    """A list of events from their stored bodies, spliced without re-encoding them: the bytes a
    partner reads are the bytes its webhook received."""
    more = b"true" if has_more else b"false"
    return b'{"object":"list","data":[' + b",".join(bodies) + b'],"has_more":' + more + b"}"


def period(p: Period, money: Currencies) -> JSON:
    """API.md's period: per currency the closing balances, the signed checkpoint and the sha256
    of the frozen exports (``sha256`` is the CSV's, ``jsonl_sha256`` the JSON lines')."""
    fmt = money.format
    return {
        "id": f"{p.partner_id}:{p.date}",
        "object": "period",
        "partner_id": p.partner_id,
        "date": p.date,
        "tz": p.tz,
        "status": p.status,
        "closed_at": p.closed_at,
        "closing": {
            c.currency: {
                "available": fmt(c.closing.available_minor, c.currency),
                "reserved": fmt(c.closing.reserved_minor, c.currency),
            }
            for c in p.currencies
        },
        "opening": {
            c.currency: {
                "available": fmt(c.opening.available_minor, c.currency),
                "reserved": fmt(c.opening.reserved_minor, c.currency),
            }
            for c in p.currencies
        },
        "exports": {
            c.currency: {
                "sha256": c.csv_sha256,
                "jsonl_sha256": c.jsonl_sha256,
                "entries": c.entries,
            }
            for c in p.currencies
        },
        "checkpoints": {
            c.currency: {
                "checkpoint": c.checkpoint,
                "signature": c.signature,
                "signing_key_id": c.signing_key_id,
                "last_sequence": c.closing.sequence,
                "head_hash": c.closing.hash,
            }
            for c in p.currencies
        },
    }


def signing_key(k: SigningKey) -> JSON:
    return {
        "id": k.id,
        "object": "signing_key",
        "algorithm": k.algorithm,
        "public_key": k.public_key,
        "created_at": k.created_at,
        "retired_at": k.retired_at,
    }

"""Domain values to JSON objects: decimal strings with the currency's scale, ``id`` + ``object``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from zeropools.domain import limits, payins, references, trades
from zeropools.domain.balance_changes import BalanceChangesView
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.deliveries import DeliveryAttempt, Redelivery
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.matching import MatchResult, MatchSummary, RowError
from zeropools.domain.money import Currencies
from zeropools.domain.partners import ApiKey, FundingInstructions, Partner
from zeropools.domain.payins import Payin
from zeropools.domain.periods import Period, SigningKey
from zeropools.domain.pools import Pool
from zeropools.domain.readmodels import BalanceView, Capabilities, QuoteView, TradeView
from zeropools.domain.reconciliation import ReconRow
from zeropools.domain.support import SupportPacket
from zeropools.domain.trades import Refusal
from zeropools.domain.webhook_endpoints import WebhookEndpoint
from zeropools.representations.encoding import json_bytes

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
        "flagged": payins.is_flagged(p),
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
    difference = trades.delivery_difference_minor(t)
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
        "delivery_difference": None if difference is None else money.format(difference, t.asset),
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


def webhook_endpoint(e: WebhookEndpoint, secret: str | None = None) -> JSON:
    """Never the stored secrets; ``secret`` only in the answer that made it (shown once)."""
    expires = e.secrets.previous_expires_at
    body: JSON = {
        "id": e.id,
        "object": "webhook_endpoint",
        "partner_id": e.partner_id,
        "url": e.url,
        "description": e.description,
        "event_types": list(e.event_types),
        "status": e.status,
        # a rotation's old secret signs too until then (two v1 signatures)
        "previous_secret_expires_at": None if expires is None else to_rfc3339(expires),
        "delivered_sequence": e.delivered_sequence,
        "created_at": e.created_at,
        "deleted_at": e.deleted_at,
    }
    if secret is not None:
        body["secret"] = secret
    return body


def webhook_delivery(d: DeliveryAttempt) -> JSON:
    return {
        "id": d.id,
        "object": "webhook_delivery",
        "partner_id": d.partner_id,
        "event_id": d.event_id,
        "endpoint_id": d.endpoint_id,
        "redelivery_id": d.redelivery_id,
        "attempt": d.attempt,
        "status": d.status,
        "status_code": d.status_code,
        "latency_ms": d.latency_ms,
        "error": d.error,
        "attempted_at": d.attempted_at,
        "next_attempt_at": d.next_attempt_at,
    }


def webhook_redelivery(r: Redelivery) -> JSON:
    return {
        "id": r.id,
        "object": "webhook_redelivery",
        "partner_id": r.partner_id,
        "event_id": r.event_id,
        "endpoint_id": r.endpoint_id,
        "status": r.status,
        "requested_at": r.requested_at,
        "request_id": r.request_id,
    }


def redelivery_request(event_id: str, redeliveries: Sequence[Redelivery]) -> JSON:
    """The 202 answer of ``POST /v1/events/{id}/redeliver``: what was queued, to which endpoints."""
    return {
        "object": "redelivery_request",
        "event_id": event_id,
        "redeliveries": [webhook_redelivery(r) for r in redeliveries],
    }


# -- reconciliation, support, balance changes (issue 9) ---------------------------------------


def reconciliation_row(row: ReconRow, money: Currencies) -> JSON:
    """API.md's reconciliation row; ``transact_id`` is the product brief's name of the trade id
    and ``ledger_ref`` the id the row's entries carry (the quote id, as in the brief's example;
    the pay-in id for pay-ins)."""
    fmt = money.format
    ack = row.acknowledgement
    return {
        "id": row.id,
        "object": "reconciliation_row",
        "kind": row.kind,
        "partner_id": row.partner_id,
        "partner_order_id": row.partner_order_id,
        "pool_id": row.pool_id,
        "quote_id": row.quote_id,
        "trade_id": row.trade_id,
        "transact_id": row.trade_id,
        "payin_id": row.payin_id,
        "currency": row.currency,
        "amount": None if row.amount_minor is None else fmt(row.amount_minor, row.currency),
        "balance_delta": fmt(row.balance_delta_minor, row.currency),
        "ledger_ref": row.ledger_ref,
        "ledger_entry_ids": list(row.ledger_entry_ids),
        "trade_status": row.trade_status,
        "payin_status": row.payin_status,
        "funding_reference": row.funding_reference,
        "reconciliation_state": row.state,
        "needs_acknowledgement": row.needs_acknowledgement,
        "acknowledged_by": ack.acknowledged_by if ack else None,
        "acknowledged_at": ack.acknowledged_at if ack else None,
        "acknowledged_via": ack.source if ack else None,
        "note": ack.note if ack else None,
        "request_id": row.request_id,
        "created_at": row.created_at,
    }


def match_result(result: MatchResult) -> JSON:
    return {
        "object": "reconciliation_match_result",
        "line": result.line,
        "partner_order_id": result.partner_order_id,
        "trade_id": result.trade_id,
        "quote_id": result.quote_id,
        "outcome": result.outcome,
        "tier": result.tier,
        "differences": [
            {"field": d.field, "file": d.file, "ledger": d.ledger} for d in result.differences
        ],
        "duplicate_of_line": result.duplicate_of_line,
        "acknowledged": result.acknowledged,
    }


def match_error(error: RowError) -> JSON:
    return {
        "object": "reconciliation_match_error",
        "line": error.line,
        "field": error.field,
        "message": error.message,
    }


def match_summary(summary: MatchSummary, request_id: str) -> JSON:
    counts = summary.counts
    return {
        "id": f"rm_{request_id.removeprefix('req_')}",
        "object": "reconciliation_match",
        "partner_id": summary.partner_id,
        "format": summary.format,
        "rows_read": summary.rows_read,
        "matched": counts.matched,
        "mismatched": counts.mismatched,
        "missing_in_ledger": counts.missing_in_ledger,
        "missing_in_file": counts.missing_in_file,
        "invalid": summary.invalid,
        "acknowledged": summary.acknowledged,
        "by_tier": dict(counts.by_tier),
        "tolerance_s": summary.tolerance_s,
        "from": summary.window_from,
        "to": summary.window_to,
        "tz": summary.tz,
        "request_id": request_id,
    }


def match_json(
    summary: MatchSummary, items: Iterable[MatchResult | RowError], request_id: str
) -> Iterator[bytes]:
    """The whole answer as one JSON object, in pieces: the summary's fields first (they are
    known before the results), then ``results`` one by one, then the first
    ``MATCH_ERRORS_LISTED_MAX`` bad rows as ``errors`` (``invalid`` counts them all)."""
    head = json_bytes(match_summary(summary, request_id))
    yield head[:-1] + b',"results":['
    errors: list[JSON] = []
    first = True
    for item in items:
        if isinstance(item, RowError):
            if len(errors) < limits.MATCH_ERRORS_LISTED_MAX:
                errors.append(match_error(item))
            continue
        yield (b"" if first else b",") + json_bytes(match_result(item))
        first = False
    truncated = b"true" if summary.invalid > len(errors) else b"false"
    yield b'],"errors":' + json_bytes(errors) + b',"errors_truncated":' + truncated + b"}"


def match_ndjson(
    summary: MatchSummary, items: Iterable[MatchResult | RowError], request_id: str
) -> Iterator[bytes]:
    """One JSON object per line: each result or bad row in file order, then the trades the
    file lacks, then the summary (API.md: "the summary last")."""
    for item in items:
        body = match_error(item) if isinstance(item, RowError) else match_result(item)
        yield json_bytes(body) + b"\n"
    yield json_bytes(match_summary(summary, request_id)) + b"\n"


def support_packet(p: SupportPacket, money: Currencies) -> JSON:
    story = p.story
    delta = money.format(p.balance_delta_minor, p.currency) if p.currency else None
    return {
        "id": p.id,
        "object": "support_packet",
        "story": story.kind,
        "partner_id": story.partner_id,
        "pool_id": p.pool_id,
        "funding_reference": p.funding_reference,
        "ledger_entry_id": p.ledger_entry_id,
        "quote_id": p.quote_id,
        "trade_id": p.trade_id,
        "transact_id": p.trade_id,
        "partner_order_id": p.partner_order_id,
        "balance_delta": delta,
        "currency": p.currency,
        "request_id": p.request_id,
        "trade_status": p.trade_status,
        "related_trade_ids": [t.id for t in story.related_trades],
        "quote_ids": [q.id for q in story.quotes],
        "payin_ids": [payin.id for payin in story.payins],
        "refusal_ids": [r.id for r in story.refusals],
        "event_ids": [e.id for e in story.events],
        "request_ids": story.request_ids,
        "truncated": story.truncated,
        "entries": [ledger_entry(e, money) for e in sorted(story.entries, key=_in_order)],
        "timeline": [
            {"at": item.at, "kind": item.kind, "id": item.id, "summary": item.summary}
            for item in p.timeline
        ],
    }


def _in_order(entry: LedgerEntry) -> tuple[str, int]:
    return entry.partner_id, entry.sequence


def balance_changes(view: BalanceChangesView, money: Currencies) -> JSON:
    fmt, c, changes = money.format, view.currency, view.changes
    return {
        "id": f"bch_{view.partner_id.removeprefix('partner_')}_{c}",
        "object": "balance_changes",
        "partner_id": view.partner_id,
        "currency": c,
        "from": view.created_gte,
        "to": view.created_lt,
        "opening": {
            "available": fmt(changes.opening.available_minor, c),
            "reserved": fmt(changes.opening.reserved_minor, c),
        },
        "closing": {
            "available": fmt(changes.closing.available_minor, c),
            "reserved": fmt(changes.closing.reserved_minor, c),
        },
        "credits": fmt(changes.credits_minor, c),
        "debits": fmt(changes.debits_minor, c),
        "entry_count": changes.entries,
        "by_type": {
            kind: {"count": total.count, "amount": fmt(total.amount_minor, c)}
            for kind, total in sorted(changes.by_type.items())
        },
        "entries": [ledger_entry(e, money) for e in view.first_entries],
        "has_more": view.has_more,
    }


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

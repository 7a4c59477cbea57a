"""SQL for quotes, trades, refusals and idempotency keys, shared by both stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zeropools.domain.clock import from_rfc3339, to_rfc3339
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.quotes import OPEN, Quote, StoredQuote
from zeropools.domain.trades import Refusal, Trade
from zeropools.store.protocol import IdempotencyRecord

QUOTE_COLUMNS = (
    "partner_id, id, pool_id, source_currency, source_amount_minor, target_asset, "
    "target_amount_minor, rate, fee_minor, fee_bps, partner_order_id, created_at, expires_at, "
    "request_id"
)
TRADE_COLUMNS = (
    "partner_id, id, quote_id, pool_id, partner_order_id, status, balance_model, "
    "source_amount_minor, currency, target_amount_minor, asset, delivered_amount_minor, "
    "tx_hash, failure_reason, destination, request_id, created_at, updated_at"
)
_TRADE_NAMES = TRADE_COLUMNS.split(", ")


def quote_params(quote: Quote, request_id: str) -> tuple[Any, ...]:
    return (
        quote.partner_id,
        quote.id,
        quote.pool_id,
        quote.source_currency,
        quote.source_amount_minor,
        quote.target_asset,
        quote.target_amount_minor,
        quote.rate,
        quote.fee_minor,
        quote.fee_bps,
        quote.partner_order_id,
        to_rfc3339(quote.created_at),
        to_rfc3339(quote.expires_at),
        request_id,
    )


def quote_from_row(row: Any) -> StoredQuote:
    quote = Quote(
        id=row["id"],
        partner_id=row["partner_id"],
        pool_id=row["pool_id"],
        source_currency=row["source_currency"],
        source_amount_minor=int(row["source_amount_minor"]),
        target_asset=row["target_asset"],
        target_amount_minor=int(row["target_amount_minor"]),
        rate=row["rate"],
        fee_minor=int(row["fee_minor"]),
        fee_bps=int(row["fee_bps"]),
        created_at=from_rfc3339(row["created_at"]),
        expires_at=from_rfc3339(row["expires_at"]),
        status=OPEN,  # the service derives the current status from time and use
        partner_order_id=row["partner_order_id"],
    )
    return StoredQuote(quote, used=row["trade_id"] is not None)


def trade_params(trade: Trade, request_id: str) -> tuple[Any, ...]:
    values = {
        **{name: getattr(trade, name, None) for name in _TRADE_NAMES},
        "request_id": request_id,
        "created_at": to_rfc3339(trade.created_at),
        "updated_at": to_rfc3339(trade.updated_at),
    }
    return tuple(values[name] for name in _TRADE_NAMES)


def trade_from_row(row: Any) -> Trade:
    return Trade(
        id=row["id"],
        partner_id=row["partner_id"],
        quote_id=row["quote_id"],
        pool_id=row["pool_id"],
        partner_order_id=row["partner_order_id"],
        status=row["status"],
        source_amount_minor=int(row["source_amount_minor"]),
        currency=row["currency"],
        target_amount_minor=int(row["target_amount_minor"]),
        asset=row["asset"],
        delivered_amount_minor=(
            None if row["delivered_amount_minor"] is None else int(row["delivered_amount_minor"])
        ),
        tx_hash=row["tx_hash"],
        failure_reason=row["failure_reason"],
        created_at=from_rfc3339(row["created_at"]),
        updated_at=from_rfc3339(row["updated_at"]),
        balance_model=row["balance_model"],
        destination=row["destination"],
    )


def idempotency_from_row(row: Any) -> IdempotencyRecord:
    body = row["response_body"]
    return IdempotencyRecord(
        scope=row["scope"],
        key=row["key"],
        fingerprint=row["fingerprint"],
        request_id=row["request_id"],
        status_code=None if row["status_code"] is None else int(row["status_code"]),
        response_body=None if body is None else bytes(body),
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )


def group_entries(entries: Sequence[LedgerEntry]) -> dict[str, list[LedgerEntry]]:
    grouped: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        assert entry.links.trade_id is not None
        grouped.setdefault(entry.links.trade_id, []).append(entry)
    return grouped


class TradingQueries:
    """Mixin for ``SqlTx``: the trading half of ``protocol.Tx``."""

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _entries_where(self, clause: str, params: Sequence[Any]) -> list[LedgerEntry]:
        raise NotImplementedError

    def _rowcount(self) -> int:
        raise NotImplementedError

    # quotes -------------------------------------------------------------------------------
    def insert_quote(self, quote: Quote, request_id: str) -> None:
        marks = ", ".join(["%s"] * len(QUOTE_COLUMNS.split(", ")))
        self._run(
            f"INSERT INTO quotes ({QUOTE_COLUMNS}) VALUES ({marks})",
            quote_params(quote, request_id),
        )

    def get_quote(self, quote_id: str) -> StoredQuote | None:
        columns = ", ".join(f"q.{name}" for name in QUOTE_COLUMNS.split(", "))
        rows = self._all(
            f"SELECT {columns}, t.id AS trade_id FROM quotes q "
            "LEFT JOIN trades t ON t.quote_id = q.id WHERE q.id = %s",
            (quote_id,),
        )
        return quote_from_row(rows[0]) if rows else None

    # trades -------------------------------------------------------------------------------
    def insert_trade(self, trade: Trade, request_id: str) -> None:
        marks = ", ".join(["%s"] * len(_TRADE_NAMES))
        self._run(
            f"INSERT INTO trades ({TRADE_COLUMNS}) VALUES ({marks})",
            trade_params(trade, request_id),
        )

    def update_trade(self, trade: Trade, from_status: str) -> None:
        # the WHERE on the old status turns a lost race into a loud failure, never a double move
        self._run(
            "UPDATE trades SET status = %s, delivered_amount_minor = %s, tx_hash = %s, "
            "failure_reason = %s, updated_at = %s WHERE id = %s AND status = %s",
            (
                trade.status,
                trade.delivered_amount_minor,
                trade.tx_hash,
                trade.failure_reason,
                to_rfc3339(trade.updated_at),
                trade.id,
                from_status,
            ),
        )
        assert self._rowcount() == 1, f"trade {trade.id} left {from_status} under its lock"

    def get_trade(self, trade_id: str) -> Trade | None:
        rows = self._all(f"SELECT {TRADE_COLUMNS} FROM trades WHERE id = %s", (trade_id,))
        return trade_from_row(rows[0]) if rows else None

    def list_trades(
        self,
        partner_id: str | None,
        *,
        partner_order_id: str | None,
        status: str | None,
        limit: int,
        starting_after: str | None,
    ) -> list[Trade]:
        clauses, params = [], []
        for column, value in (
            ("partner_id", partner_id),
            ("partner_order_id", partner_order_id),
            ("status", status),
        ):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if starting_after:
            clauses.append("id < %s")
            params.append(starting_after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._all(
            f"SELECT {TRADE_COLUMNS} FROM trades {where} ORDER BY id DESC LIMIT %s",
            (*params, limit),
        )
        return [trade_from_row(row) for row in rows]

    def open_trades_before(self, created_before: str, limit: int) -> list[Trade]:
        rows = self._all(
            f"SELECT {TRADE_COLUMNS} FROM trades WHERE status IN ('reserved', 'debited') "
            "AND created_at < %s ORDER BY created_at LIMIT %s",
            (created_before, limit),
        )
        return [trade_from_row(row) for row in rows]

    def pending_totals(self, partner_id: str) -> dict[str, int]:
        rows = self._all(
            "SELECT currency, SUM(source_amount_minor) AS total FROM trades "
            "WHERE partner_id = %s AND status IN ('reserved', 'debited') GROUP BY currency",
            (partner_id,),
        )
        return {row["currency"]: int(row["total"]) for row in rows}

    def trade_entries(
        self, partner_id: str, trade_ids: Sequence[str]
    ) -> dict[str, list[LedgerEntry]]:
        if not trade_ids:
            return {}
        marks = ", ".join(["%s"] * len(trade_ids))
        found = self._entries_where(
            f"partner_id = %s AND trade_id IN ({marks})", (partner_id, *trade_ids)
        )
        return group_entries(found)

    # refusals -----------------------------------------------------------------------------
    def insert_refusal(self, refusal: Refusal) -> None:
        self._run(
            "INSERT INTO trade_refusals (partner_id, id, quote_id, partner_order_id, code, "
            "detail, request_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                refusal.partner_id,
                refusal.id,
                refusal.quote_id,
                refusal.partner_order_id,
                refusal.code,
                refusal.detail,
                refusal.request_id,
                refusal.created_at,
            ),
        )

    def list_refusals(
        self,
        partner_id: str,
        *,
        partner_order_id: str | None,
        limit: int,
        starting_after: str | None,
    ) -> list[Refusal]:
        clauses, params = ["partner_id = %s"], [partner_id]
        if partner_order_id is not None:
            clauses.append("partner_order_id = %s")
            params.append(partner_order_id)
        if starting_after:
            clauses.append("id < %s")
            params.append(starting_after)
        rows = self._all(
            "SELECT partner_id, id, quote_id, partner_order_id, code, detail, request_id, "
            f"created_at FROM trade_refusals WHERE {' AND '.join(clauses)} "
            "ORDER BY id DESC LIMIT %s",
            (*params, limit),
        )
        return [
            Refusal(**{name: row[name] for name in Refusal.__dataclass_fields__}) for row in rows
        ]

    # idempotency keys ---------------------------------------------------------------------
    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None:
        rows = self._all(
            "SELECT * FROM idempotency_keys WHERE scope = %s AND key = %s", (scope, key)
        )
        return idempotency_from_row(rows[0]) if rows else None

    def insert_idempotency(self, record: IdempotencyRecord) -> None:
        self._run(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, request_id, "
            "status_code, response_body, created_at, completed_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                record.scope,
                record.key,
                record.fingerprint,
                record.request_id,
                record.status_code,
                record.response_body,
                record.created_at,
                record.completed_at,
            ),
        )

    def complete_idempotency(
        self, scope: str, key: str, status_code: int, body: bytes, completed_at: str
    ) -> None:
        self._run(
            "UPDATE idempotency_keys SET status_code = %s, response_body = %s, "
            "completed_at = %s "
            "WHERE scope = %s AND key = %s AND completed_at IS NULL",
            (status_code, body, completed_at, scope, key),
        )

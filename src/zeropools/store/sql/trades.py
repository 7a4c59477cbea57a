"""SQL of the trades port: quotes, the trades that execute them, and refused executions.

Times are stored as RFC 3339 text; ``Quote`` and ``Trade`` carry datetimes, so the mapping
converts at this edge. Which statuses count as pending comes from the domain's state machine
(``trades.PENDING_STATUSES``), passed as parameters, never spelled in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from zeropools.domain import limits
from zeropools.domain.clock import from_rfc3339, to_rfc3339
from zeropools.domain.ledger import EntryRow, LedgerEntry
from zeropools.domain.quotes import OPEN, Quote, StoredQuote
from zeropools.domain.trades import PENDING_STATUSES, Refusal, Trade
from zeropools.domain.verify import TRADE_FACTS_FIELDS, TradeFacts
from zeropools.store.ports import TradesPort
from zeropools.store.sql.executor import (
    Executor,
    Row,
    chunks,
    created_window,
    marks,
    unindexed,
)
from zeropools.store.sql.ledger import entries_sql, entries_where

_QUOTE_COLUMNS = (
    "partner_id, id, pool_id, source_currency, source_amount_minor, target_asset, "
    "target_amount_minor, rate, fee_minor, fee_bps, partner_order_id, created_at, expires_at, "
    "request_id"
)
_TRADE_COLUMNS = (
    "partner_id, id, quote_id, pool_id, partner_order_id, status, balance_model, "
    "source_amount_minor, currency, target_amount_minor, asset, delivered_amount_minor, "
    "tx_hash, failure_reason, destination, request_id, created_at, updated_at"
)
_REFUSAL_COLUMNS = (
    "partner_id, id, quote_id, partner_order_id, code, detail, request_id, created_at"
)
_QUOTE_NAMES = _QUOTE_COLUMNS.split(", ")
_QUOTE_SELECT = (
    "SELECT " + ", ".join(f"q.{name}" for name in _QUOTE_NAMES) + ", t.id AS trade_id "
    "FROM quotes q LEFT JOIN trades t ON t.quote_id = q.id"
)
_TRADE_NAMES = _TRADE_COLUMNS.split(", ")
_REFUSAL_NAMES = _REFUSAL_COLUMNS.split(", ")
_PENDING = sorted(PENDING_STATUSES)  # a stable order: the same SQL text every time


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


def quote_from_row(row: Row) -> StoredQuote:
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
        request_id=row["request_id"],
    )
    return StoredQuote(quote, used=row["trade_id"] is not None)


def trades_of_order_sql() -> str:
    """``trades_of_order``'s statement: the order's trades found by ``trades_partner_order``
    and sorted (``unindexed``; not along ``trades_partner_created``)."""
    return (
        f"SELECT {_TRADE_COLUMNS} FROM trades WHERE partner_id = %s AND partner_order_id = %s "
        f"ORDER BY {unindexed('created_at')}, id"
    )


def list_refusals_sql(clauses: list[str], partner_order_id: str | None) -> str:
    """``list_refusals``' statement: an order's few refusals found by ``trade_refusals_order``
    and sorted (``unindexed``; not along ``trade_refusals_partner``)."""
    order = unindexed("id") if partner_order_id is not None else "id"
    return (
        f"SELECT {_REFUSAL_COLUMNS} FROM trade_refusals WHERE {' AND '.join(clauses)} "
        f"ORDER BY {order} DESC LIMIT %s"
    )


def refusals_of_sql(
    partner_id: str, partner_order_id: str | None, quote_ids: Sequence[str]
) -> tuple[str, list[Any]]:
    """``refusals_of``' statement ("" when there is nothing to look for) and parameters: one
    SELECT per kind of key joined by UNION, each by its own index (``trade_refusals_order``,
    ``trade_refusals_quote``); ORed in one WHERE, SQLite read the partner's every refusal. By
    quote, the partner is tested on the rows found (``unindexed``)."""
    parts: list[str] = []
    params: list[Any] = []
    select = f"SELECT {_REFUSAL_COLUMNS} FROM trade_refusals WHERE"
    if partner_order_id is not None:
        parts.append(f"{select} partner_id = %s AND partner_order_id = %s")
        params += [partner_id, partner_order_id]
    if quote_ids:
        by_partner = unindexed("partner_id")
        parts.append(f"{select} {by_partner} = %s AND quote_id IN ({marks(len(quote_ids))})")
        params += [partner_id, *quote_ids]
    if not parts:
        return "", []
    return f"{' UNION '.join(parts)} ORDER BY created_at, id", params


def trade_params(trade: Trade, request_id: str) -> tuple[Any, ...]:
    values = {
        **{name: getattr(trade, name, None) for name in _TRADE_NAMES},
        "request_id": request_id,
        "created_at": to_rfc3339(trade.created_at),
        "updated_at": to_rfc3339(trade.updated_at),
    }
    return tuple(values[name] for name in _TRADE_NAMES)


def trade_from_row(row: Row) -> Trade:
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
        request_id=row["request_id"],
    )


def refusal_params(refusal: Refusal) -> tuple[Any, ...]:
    return tuple(getattr(refusal, name) for name in _REFUSAL_NAMES)


def refusal_from_row(row: Row) -> Refusal:
    return Refusal(**{name: row[name] for name in _REFUSAL_NAMES})


def group_entries(entries: Sequence[LedgerEntry]) -> dict[str, list[LedgerEntry]]:
    grouped: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        assert entry.links.trade_id is not None
        grouped.setdefault(entry.links.trade_id, []).append(entry)
    return grouped


class SqlTrades(TradesPort):
    _ex: Executor

    # quotes -------------------------------------------------------------------------------
    def insert_quote(self, quote: Quote, request_id: str) -> None:
        self._ex.send(
            f"INSERT INTO quotes ({_QUOTE_COLUMNS}) VALUES ({marks(len(_QUOTE_NAMES))})",
            quote_params(quote, request_id),
        )

    def get_quote(self, quote_id: str) -> StoredQuote | None:
        return _stored_quote(self._ex.all(*_quote_query(quote_id)))

    # trades -------------------------------------------------------------------------------
    def insert_trade(self, trade: Trade, request_id: str) -> None:
        self._ex.send(
            f"INSERT INTO trades ({_TRADE_COLUMNS}) VALUES ({marks(len(_TRADE_NAMES))})",
            trade_params(trade, request_id),
        )

    def update_trade(self, trade: Trade, from_status: str) -> None:
        # the WHERE on the old status turns a lost race into a loud failure, never a double move
        changed = self._ex.run(
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
        assert changed == 1, f"trade {trade.id} left {from_status} under its lock"

    def get_trade(self, trade_id: str) -> Trade | None:
        rows = self._ex.all(f"SELECT {_TRADE_COLUMNS} FROM trades WHERE id = %s", (trade_id,))
        return trade_from_row(rows[0]) if rows else None

    def trade_partners(self, trade_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for part in chunks(list(dict.fromkeys(trade_ids)), limits.IN_LIST_VALUES_MAX):
            rows = self._ex.all(
                f"SELECT id, partner_id FROM trades WHERE id IN ({marks(len(part))})", part
            )
            found.update((row["id"], row["partner_id"]) for row in rows)
        return found

    def list_trades(
        self,
        partner_id: str | None,
        *,
        partner_order_id: str | None,
        status: str | None,
        limit: int,
        starting_after: str | None,
    ) -> list[Trade]:
        sql, params = _trades_query(partner_id, partner_order_id, status, limit, starting_after)
        return [trade_from_row(row) for row in self._ex.all(sql, params)]

    def quote_and_order_trades(
        self, quote_id: str, partner_id: str, partner_order_id: str, limit: int
    ) -> tuple[StoredQuote | None, list[Trade]]:
        # an execution's two reads under its ledger lock, in one round trip on PostgreSQL
        quote_rows, trade_rows = self._ex.all_together(
            [_quote_query(quote_id), _trades_query(partner_id, partner_order_id, None, limit, None)]
        )
        return _stored_quote(quote_rows), [trade_from_row(row) for row in trade_rows]

    def open_trades_before(self, created_before: str, limit: int) -> list[Trade]:
        rows = self._ex.all(
            f"SELECT {_TRADE_COLUMNS} FROM trades WHERE status IN ({marks(len(_PENDING))}) "
            "AND created_at < %s ORDER BY created_at LIMIT %s",
            (*_PENDING, created_before, limit),
        )
        return [trade_from_row(row) for row in rows]

    def pending_totals(self, partner_id: str) -> dict[str, int]:
        return self.pending_totals_of([partner_id]).get(partner_id, {})

    def pending_totals_of(self, partner_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """``pending_totals`` of many partners in one query (a page of partners, not N reads);
        a partner with nothing pending is absent."""
        if not partner_ids:
            return {}
        rows = self._ex.all(
            "SELECT partner_id, currency, SUM(source_amount_minor) AS total FROM trades "
            f"WHERE partner_id IN ({marks(len(partner_ids))}) "
            f"AND status IN ({marks(len(_PENDING))}) GROUP BY partner_id, currency",
            (*partner_ids, *_PENDING),
        )
        totals: dict[str, dict[str, int]] = {}
        for row in rows:
            totals.setdefault(row["partner_id"], {})[row["currency"]] = int(row["total"])
        return totals

    def trade_entries(
        self, partner_id: str, trade_ids: Sequence[str]
    ) -> dict[str, list[LedgerEntry]]:
        if not trade_ids:
            return {}
        found = entries_where(self._ex, _of_trades(len(trade_ids)), (partner_id, *trade_ids))
        return group_entries(found)

    def stream_trade_rows(
        self, partner_id: str
    ) -> Iterator[list[tuple[TradeFacts, list[EntryRow]]]]:
        trades = self._ex.stream_tuples(
            f"SELECT {', '.join(TRADE_FACTS_FIELDS)} FROM trades WHERE partner_id = %s "
            "ORDER BY created_at, id",
            (partner_id,),
            limits.IN_LIST_VALUES_MAX,
        )
        try:
            for batch in cast("Iterator[list[TradeFacts]]", trades):
                ids = [facts[0] for facts in batch]
                rows: dict[str, list[EntryRow]] = {}
                # tuples, not mappings: the rows stay as stored (``EntryRow``) for the check
                for part in self._ex.stream_tuples(
                    entries_sql(_of_trades(len(ids))),
                    (partner_id, *ids),
                    limits.BULK_READ_BATCH_ROWS,
                ):
                    for row in cast("list[EntryRow]", part):
                        rows.setdefault(cast(str, row[9]), []).append(row)
                yield [(facts, rows.get(facts[0], [])) for facts in batch]
        finally:
            trades.close()

    # refusals -----------------------------------------------------------------------------
    def insert_refusal(self, refusal: Refusal) -> None:
        self._ex.run(
            f"INSERT INTO trade_refusals ({_REFUSAL_COLUMNS}) "
            f"VALUES ({marks(len(_REFUSAL_NAMES))})",
            refusal_params(refusal),
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
        rows = self._ex.all(list_refusals_sql(clauses, partner_order_id), (*params, limit))
        return [refusal_from_row(row) for row in rows]

    # reads of reconciliation, support and verify ----------------------------------------
    def stream_trades(
        self,
        partner_id: str,
        *,
        created_gte: str | None = None,
        created_lt: str | None = None,
        pool_id: str | None = None,
        newest_first: bool = False,
        before: tuple[str, str] | None = None,
    ) -> Iterator[Trade]:
        clauses, params, order = created_window(
            partner_id, created_gte, created_lt, before, newest_first
        )
        if pool_id is not None:
            clauses.append("pool_id = %s")
            params.append(pool_id)
        rows = self._ex.stream(
            f"SELECT {_TRADE_COLUMNS} FROM trades WHERE {' AND '.join(clauses)} {order}",
            params,
            limits.ENTRY_READ_BATCH_ROWS,
        )
        try:
            for row in rows:
                yield trade_from_row(row)
        finally:
            rows.close()

    def trade_of_quote(self, quote_id: str) -> Trade | None:
        rows = self._ex.all(f"SELECT {_TRADE_COLUMNS} FROM trades WHERE quote_id = %s", (quote_id,))
        return trade_from_row(rows[0]) if rows else None

    def trades_of_order(self, partner_id: str, partner_order_id: str) -> list[Trade]:
        rows = self._ex.all(trades_of_order_sql(), (partner_id, partner_order_id))
        return [trade_from_row(row) for row in rows]

    def quotes_of_order(self, partner_id: str, partner_order_id: str) -> list[Quote]:
        rows = self._ex.all(
            f"{_QUOTE_SELECT} WHERE q.partner_id = %s AND q.partner_order_id = %s "
            "ORDER BY q.created_at, q.id",
            (partner_id, partner_order_id),
        )
        return [quote_from_row(row).quote for row in rows]

    def refusals_of(
        self, partner_id: str, partner_order_id: str | None, quote_ids: Sequence[str]
    ) -> list[Refusal]:
        sql, params = refusals_of_sql(partner_id, partner_order_id, quote_ids)
        if not sql:
            return []
        return [refusal_from_row(row) for row in self._ex.all(sql, params)]

    def trades_of_request(self, request_id: str) -> list[Trade]:
        rows = self._ex.all(
            f"SELECT {_TRADE_COLUMNS} FROM trades WHERE request_id = %s", (request_id,)
        )
        return [trade_from_row(row) for row in rows]

    def quotes_of_request(self, request_id: str) -> list[Quote]:
        rows = self._ex.all(f"{_QUOTE_SELECT} WHERE q.request_id = %s", (request_id,))
        return [quote_from_row(row).quote for row in rows]

    def refusals_of_request(self, request_id: str) -> list[Refusal]:
        rows = self._ex.all(
            f"SELECT {_REFUSAL_COLUMNS} FROM trade_refusals WHERE request_id = %s",
            (request_id,),
        )
        return [refusal_from_row(row) for row in rows]


def _trades_query(
    partner_id: str | None,
    partner_order_id: str | None,
    status: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[str, list[Any]]:
    """``list_trades``' SQL and parameters: newest first."""
    clauses: list[str] = []
    params: list[Any] = []
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
    # An order's few trades are found by (partner_id, partner_order_id) and then sorted; a bare
    # "ORDER BY id" lets SQLite walk the partner's whole (partner_id, id) index in id order
    # instead, checking every trade the partner ever made (every execution asks this under the
    # ledger lock, so that walk grew with the partner's history).
    order = unindexed("id") if partner_order_id is not None else "id"
    sql = f"SELECT {_TRADE_COLUMNS} FROM trades {where} ORDER BY {order} DESC LIMIT %s"
    return sql, [*params, limit]


def _of_trades(count: int) -> str:
    """The entries of a partner's ``count`` trades (parameters: the partner, the trade ids)."""
    return f"partner_id = %s AND trade_id IN ({marks(count)})"


def _quote_query(quote_id: str) -> tuple[str, tuple[str]]:
    return f"{_QUOTE_SELECT} WHERE q.id = %s", (quote_id,)


def _stored_quote(rows: Sequence[Row]) -> StoredQuote | None:
    return quote_from_row(rows[0]) if rows else None

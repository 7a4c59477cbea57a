"""``trade_rows_sound`` (verify's check of a trade on its stored rows) only accepts a trade
that ``trade_problems`` finds nothing wrong with, and accepts every healthy one.

Goal: ``verify`` checks every trade against its entries on the plain rows (no ``Trade``, no
``LedgerEntry`` built: those cost several times the check); whatever it accepts must be what
the full check accepts, or the report would depend on the path.

Method: hypothesis picks a model, a reachable status and an amount, writes the entries the
state machine implies (as the services post them: a counter line, links to the unwound entry),
then maybe spoils one thing: an entry's type, currency, quote, order, amount, link, a line's
amount as a float, an entry dropped or repeated, the trade's status or model. The fast verdict
must imply the full one, and a row left healthy must be accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from test_bulk_rows import row_of

from zeropools.domain import trades
from zeropools.domain.ledger import (
    AVAILABLE,
    RESERVED,
    EntryRow,
    LedgerEntry,
    Line,
    Links,
    entry_from_values,
)
from zeropools.domain.verify import implied_movements, trade_problems, trade_rows_sound

PARTNER = "partner_01TRADEROWS000000000000000"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STATUSES = [trades.SETTLED, trades.RELEASED, trades.FAILED, trades.RETURNED]
REACHABLE = {
    trades.DEBIT_MODEL: [trades.DEBITED, *STATUSES],
    trades.RESERVE_MODEL: [trades.RESERVED, *STATUSES],
}
SPOILS = [
    None, "type", "currency", "quote", "order", "amount", "link", "float", "drop", "repeat",
    "status", "model",
]  # fmt: skip


def _trade(model: str, status: str, amount: int) -> trades.Trade:
    return trades.Trade(
        id="pt_1", partner_id=PARTNER, quote_id="pq_1", pool_id="EUR-USDT",
        partner_order_id="order-1", status=status, source_amount_minor=amount, currency="EUR",
        target_amount_minor=amount, asset="USDT", delivered_amount_minor=None, tx_hash=None,
        failure_reason=None, created_at=NOW, updated_at=NOW, balance_model=model,
    )  # fmt: skip


def _entries(trade: trades.Trade) -> list[LedgerEntry]:
    out: list[LedgerEntry] = []
    by_type: dict[str, str] = {}
    for n, movement in enumerate(
        implied_movements(trade.balance_model, trade.status, trade.source_amount_minor)
    ):
        lines = [Line(AVAILABLE, movement.available_delta_minor)]
        if movement.reserved_delta_minor:
            lines.append(Line(RESERVED, movement.reserved_delta_minor))
        if movement.counter_account is not None:
            lines.append(Line(movement.counter_account, movement.counter_delta_minor))
        entry_id = f"ple_{n}"
        links = Links(
            trade_id=trade.id,
            quote_id=trade.quote_id,
            partner_order_id=trade.partner_order_id,
            related_entry_id=by_type[movement.links] if movement.links else None,
        )
        by_type[movement.entry_type] = entry_id
        lines = [line for line in lines if line.amount_minor]
        out.append(
            LedgerEntry(
                id=entry_id,
                partner_id=PARTNER,
                sequence=n + 1,
                type=movement.entry_type,
                currency="EUR",
                amount_minor=0,
                available_after_minor=0,
                reserved_after_minor=0,
                lines=tuple(lines),
                links=links,
                reason=None,
                request_id="req_1",
                created_at="2026-11-23T09:00:00.000000Z",
                prev_hash="p",
                hash="h",
            )
        )
    return out


def _spoiled(rows: list[EntryRow], spoil: str | None, at: int) -> list[EntryRow]:
    if spoil in (None, "status", "model") or not rows:
        return rows
    at %= len(rows)
    values = list(rows[at])
    if spoil == "drop":
        return rows[:at] + rows[at + 1 :]
    if spoil == "repeat":
        return [*rows, rows[at]]
    column, value = {
        "type": (3, trades.BUY_REFUND if values[3] != trades.BUY_REFUND else trades.BUY_DEBIT),
        "currency": (4, "USD"),
        "quote": (10, "pq_2"),
        "order": (14, "order-2"),
        "amount": (8, values[8].replace("-", "", 1) if "-" in values[8] else "[]"),
        "link": (12, "ple_x"),
        "float": (8, values[8].replace("]]", ".0]]", 1)),
    }[spoil]
    values[column] = value
    return [*rows[:at], tuple(values), *rows[at + 1 :]]  # type: ignore[list-item]


@given(
    model=st.sampled_from(sorted(REACHABLE)),
    pick=st.integers(0, 4),
    amount=st.integers(1, 10**15),
    spoil=st.sampled_from(SPOILS),
    at=st.integers(0, 3),
)
def test_the_fast_verdict_implies_the_full_one(
    model: str, pick: int, amount: int, spoil: str | None, at: int
) -> None:
    trade = _trade(model, REACHABLE[model][pick], amount)
    rows = _spoiled([row_of(entry) for entry in _entries(trade)], spoil, at)
    if spoil == "status":
        other = [s for s in REACHABLE[model] if s != trade.status][at % 4]
        trade = _trade(model, other, amount)
    if spoil == "model":
        trade = _trade(
            trades.RESERVE_MODEL if model == trades.DEBIT_MODEL else trades.DEBIT_MODEL,
            trades.SETTLED if trade.status in (trades.DEBITED, trades.RESERVED) else trade.status,
            amount,
        )
    facts = (
        trade.id, trade.balance_model, trade.status, trade.source_amount_minor, trade.currency,
        trade.quote_id, trade.partner_order_id,
    )  # fmt: skip
    problems = trade_problems(trade, [entry_from_values(row) for row in rows])
    if trade_rows_sound(facts, rows):
        assert problems == [], (spoil, problems)
    if spoil is None:
        assert problems == [] and trade_rows_sound(facts, rows)

"""Trades, pay-ins and the entries the state machines post for them, built by the domain's own
functions: the material of the reconciliation and verify unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from zeropools.domain import ledger
from zeropools.domain.ledger import GENESIS_HASH, EntryDraft, LedgerEntry, LedgerHead, Links
from zeropools.domain.money import Currencies
from zeropools.domain.payins import Payin
from zeropools.domain.trades import Trade
from zeropools.domain.verify import implied_movements

NOW = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
MONEY = Currencies()


def a_trade(status: str, model: str = "reserve") -> Trade:
    return Trade(
        id="pt_test_456",
        partner_id="partner_123",
        quote_id="pq_test_123",
        pool_id="EUR-USDT",
        partner_order_id="order_123",
        status=status,
        source_amount_minor=10_000,
        currency="EUR",
        target_amount_minor=107_420_000,
        asset="USDT",
        delivered_amount_minor=None,
        tx_hash=None,
        failure_reason=None,
        created_at=NOW,
        updated_at=NOW,
        balance_model=model,
        request_id="req_abc",
    )


def entries_for(trade: Trade) -> list[LedgerEntry]:
    """The entries the state machine posts for ``trade``'s status, chained from 1000.00."""
    head = LedgerHead(trade.partner_id, 0, GENESIS_HASH)
    funded = ledger.append(
        head,
        {},
        [ledger.payin_credit("EUR", 100_000, "pin_1", "RF00")],
        currencies=MONEY,
        request_id="req_0",
        now=NOW,
    )
    posted: list[LedgerEntry] = []
    state = funded
    for movement in implied_movements(trade.balance_model, trade.status, 10_000):
        related = next((e.id for e in posted if e.type == movement.links), None)
        draft = EntryDraft(
            movement.entry_type,
            "EUR",
            movement.lines(),
            Links(
                trade_id=trade.id,
                quote_id=trade.quote_id,
                related_entry_id=related,
                partner_order_id=trade.partner_order_id,
            ),
        )
        state = ledger.append(
            state.head, state.balances, [draft], currencies=MONEY, request_id="req_abc", now=NOW
        )
        posted += state.entries
    return posted


def a_payin(status: str, credited: bool) -> Payin:
    return Payin(
        id="pin_1",
        bank_transaction_id="bank-1",
        partner_id="partner_123",
        amount_minor=100_000,
        currency="EUR",
        status=status,
        booking_status="booked",
        reference=None,
        remittance_info=None,
        debtor_name=None,
        debtor_iban=None,
        value_date=None,
        attribution_method=None,
        attributed_by=None,
        review_reason=None,
        ledger_entry_id="ple_1" if credited else None,
        funding_reference="REF-partner_123",
        request_id="req_p",
        created_at="2026-11-23T09:00:00.000000Z",
        updated_at="2026-11-23T09:00:00.000000Z",
    )

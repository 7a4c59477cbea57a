"""Reconciliation rows: which state each status leaves a row in, and what acknowledging does.

Goal: every trade status and every pay-in status (credited or not) walked against the table of
``domain.reconciliation``: pending ones are open, failed and returned trades and recalled
pay-ins are open until acknowledged, the rest reconciled; acknowledging what needs it returns
the fact, a second time returns nothing (the first stands), and anything else is refused with
``invalid_transition`` naming the status; the brief's example row (a reserved trade of 100.00)
has ``balance_delta`` -100.00 and the quote id as ``ledger_ref``; days have their clock-change
lengths.
Method: the pure domain with trades, pay-ins and entries built by the domain's own functions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from recon_builders import MONEY, NOW, a_payin, a_trade, entries_for

from zeropools.domain import payins, trades
from zeropools.domain import reconciliation as recon
from zeropools.domain.errors import InvalidTransition, ValidationFailed

TRADE_STATES = {
    "reserved": (recon.OPEN, False),
    "debited": (recon.OPEN, False),
    "settled": (recon.RECONCILED, False),
    "released": (recon.RECONCILED, False),
    "failed": (recon.OPEN, True),
    "returned": (recon.OPEN, True),
}


def test_the_table_covers_every_trade_status() -> None:
    assert set(TRADE_STATES) == trades.STATUSES


@pytest.mark.parametrize("status", sorted(TRADE_STATES))
def test_each_trade_status_leaves_its_row_in_the_tables_state(status: str) -> None:
    model = "debit" if status == "debited" else "reserve"
    trade = a_trade(status, model)
    row = recon.trade_row(trade, entries_for(trade), None, "REF-partner_123")
    assert (row.state, row.needs_acknowledgement) == TRADE_STATES[status]
    if row.needs_acknowledgement:
        fact = recon.acknowledge(
            row, by="zpk_1", note="seen", source=recon.BY_HAND, request_id="req_1", now=NOW
        )
        assert fact is not None and fact.status == status
        done = recon.with_acknowledgement(row, fact)
        assert done.state == recon.RECONCILED
        again = recon.acknowledge(
            done, by="zpk_2", note="again", source=recon.BY_HAND, request_id="req_2", now=NOW
        )
        assert again is None  # the first acknowledgement stands
    else:
        with pytest.raises(InvalidTransition) as refused:
            recon.acknowledge(
                row, by="zpk_1", note="seen", source=recon.BY_HAND, request_id="req_1", now=NOW
            )
        assert refused.value.extra["from_status"] == status
        assert refused.value.extra["to_status"] == "acknowledged"


@pytest.mark.parametrize(
    ("status", "credited", "state", "needs"),
    [
        (payins.PENDING_CONFIRMATION, False, recon.OPEN, False),
        (payins.NEEDS_REVIEW, False, recon.OPEN, False),
        (payins.CREDITED, True, recon.RECONCILED, False),
        (payins.RETURNED, True, recon.OPEN, True),  # a recall: up and down again
        (payins.RETURNED, False, recon.RECONCILED, False),  # the balance never moved
    ],
)
def test_each_payin_status_leaves_its_row_in_the_tables_state(
    status: str, credited: bool, state: str, needs: bool
) -> None:
    row = recon.payin_row(a_payin(status, credited), [], None)
    assert (row.state, row.needs_acknowledgement, row.ledger_ref) == (state, needs, "pin_1")


def test_the_brief_example_row_a_reserved_trade_of_100() -> None:
    trade = a_trade("reserved")
    entries = entries_for(trade)
    row = recon.trade_row(trade, entries, None, "REF-partner_123")
    assert MONEY.format(row.balance_delta_minor, "EUR") == "-100.00"
    assert (row.ledger_ref, row.trade_id, row.partner_order_id, row.pool_id) == (
        "pq_test_123",
        "pt_test_456",
        "order_123",
        "EUR-USDT",
    )
    assert row.ledger_entry_ids == tuple(e.id for e in entries)
    released = a_trade("released")
    assert recon.trade_row(released, entries_for(released), None, None).balance_delta_minor == 0


def test_days_are_bounded_in_their_time_zone_clock_changes_included() -> None:
    berlin = ZoneInfo("Europe/Berlin")

    def hours(day: date) -> float:
        # in UTC: Python subtracts two times of one zone by their wall clocks
        start, end = (moment.astimezone(UTC) for moment in recon.day_bounds(day, berlin))
        return (end - start).total_seconds() / 3600

    assert (hours(date(2026, 3, 29)), hours(date(2026, 10, 25))) == (23, 25)
    start, _ = recon.day_bounds(date(2026, 3, 29), berlin)
    assert start.astimezone(UTC) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert recon.parse_day("2026-11-23") == date(2026, 11, 23)
    for bad in ("2026-11-31", "23.11.2026", "2026-11-23T00:00:00Z", "2026-1-1", "0001-01-01"):
        with pytest.raises(ValidationFailed):
            recon.parse_day(bad)

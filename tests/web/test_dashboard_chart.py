"""The dashboard's balance chart, a pure function of ledger entries.

Goal: the line goes through the available balance after each entry, scaled into the viewBox
with zero at the bottom when every balance is positive; credits and trade movements are marked
and nothing else is; one entry still draws; no entry draws nothing.
Method: ``web.chart.balance_chart`` on hand-made entries (amounts in minor units, EUR scale 2).
"""

from __future__ import annotations

from zeropools.domain.ledger import LedgerEntry, Links
from zeropools.domain.money import Currencies
from zeropools.web.chart import HEIGHT_PX, PAD_Y_PX, balance_chart


def entry(seq: int, kind: str, amount: int, after: int, trade_id: str | None = None) -> LedgerEntry:
    return LedgerEntry(
        id=f"ple_{seq}",
        partner_id="partner_1",
        sequence=seq,
        type=kind,
        currency="EUR",
        amount_minor=amount,
        available_after_minor=after,
        reserved_after_minor=0,
        lines=(),
        links=Links(trade_id=trade_id),
        reason=None,
        request_id="req_1",
        created_at=f"2026-11-23T10:0{seq}:00.000000Z",
        prev_hash="0" * 64,
        hash="0" * 64,
    )


def test_the_line_follows_the_balance_and_marks_credits_and_trades() -> None:
    entries = [
        entry(1, "payin_credit", 100_000, 100_000),
        entry(2, "buy_debit", -25_000, 75_000, trade_id="pt_1"),
        entry(3, "adjustment", -5_000, 70_000),  # a negative adjustment is neither
    ]

    chart = balance_chart(entries, Currencies(), "EUR")

    assert chart is not None
    ys = [float(point.split(",")[1]) for point in chart.points.split()]
    assert ys[0] == PAD_Y_PX  # the highest balance at the top
    assert ys[0] < ys[1] < ys[2]  # lower balances lower on the chart
    assert [(m.kind, m.label) for m in chart.markers] == [
        ("credit", "payin_credit +1000.00 EUR"),
        ("trade", "buy_debit -250.00 EUR"),
    ]
    assert (chart.top_label, chart.bottom_label) == ("1000.00", "0.00")


def test_zero_sits_at_the_bottom() -> None:
    chart = balance_chart(
        [entry(1, "payin_credit", 10, 10), entry(2, "buy_debit", -10, 0, "t")], Currencies(), "EUR"
    )

    assert chart is not None
    assert float(chart.points.split()[1].split(",")[1]) == HEIGHT_PX - PAD_Y_PX


def test_one_entry_draws_a_flat_line_and_none_draws_nothing() -> None:
    one = balance_chart([entry(1, "payin_credit", 500, 500)], Currencies(), "EUR")

    assert one is not None and len(one.points.split()) == 2
    assert balance_chart([], Currencies(), "EUR") is None

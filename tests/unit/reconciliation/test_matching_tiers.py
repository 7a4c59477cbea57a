"""Matching a partner's order file against the ledger's trades: tiers, one to one.

Goal: durable ids decide first (``trade_id``, then ``quote_id``, then ``partner_order_id``),
across the whole file before any row is matched by amount and time; rows whose ids name nothing
fall through to amount + currency + time within the tolerance, nearest first, and the ids that
differ are listed; amounts, currencies and statuses that differ make a mismatch, ids never do;
duplicates on either side and both missing sides are reported; a matched final status
acknowledges the trade; bad rows are typed errors with their line. And a property: a file
generated from the ledger itself matches entirely by id; with its ids stripped (and amounts
distinct), entirely by amount and time.
Method: the pure ``domain.matching`` on hand-built trades and rows; hypothesis for the property.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support import sized
from zeropools.domain.matching import (
    AMOUNT_TIME,
    ID,
    MATCHED,
    MISMATCHED,
    MISSING_IN_FILE,
    MISSING_IN_LEDGER,
    LedgerOrder,
    MatchCounts,
    Matcher,
    MatchResult,
    OrderRow,
    RowError,
    read_row,
    to_us,
)
from zeropools.domain.money import Currencies

MONEY = Currencies()
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def trade(
    n: int,
    amount_minor: int = 10_000,
    *,
    order: str | None = None,
    at: datetime = NOON,
    status: str = "settled",
    currency: str = "EUR",
    awaiting: bool = False,
    in_window: bool = True,
) -> LedgerOrder:
    return LedgerOrder(
        trade_id=f"pt_test_{n}",
        quote_id=f"pq_test_{n}",
        partner_order_id=order or f"order-{n}",
        currency=currency,
        amount_minor=amount_minor,
        created_at_us=to_us(at),
        status=status,
        awaiting_acknowledgement=awaiting,
        in_window=in_window,
    )


def row(
    order: str,
    amount: str = "100.00",
    *,
    at: datetime = NOON,
    trade_id: str | None = None,
    quote_id: str | None = None,
    status: str | None = None,
    currency: str = "EUR",
) -> dict[str, str | None]:
    return {
        "partner_order_id": order,
        "amount": amount,
        "currency": currency,
        "created_at": at.isoformat(),
        "trade_id": trade_id,
        "quote_id": quote_id,
        "status": status,
    }


@dataclass
class Run:
    counts: MatchCounts
    results: list[MatchResult | RowError]
    acknowledged: list[str]

    def by_line(self, line: int) -> MatchResult:
        found = next(r for r in self.results if r.line == line)
        assert isinstance(found, MatchResult), found
        return found

    @property
    def missing_in_file(self) -> list[str | None]:
        return [
            r.trade_id
            for r in self.results
            if isinstance(r, MatchResult) and r.outcome == MISSING_IN_FILE
        ]


def match(
    ledger: Sequence[LedgerOrder],
    rows: Sequence[Mapping[str, str | None]],
    tolerance_s: int = 300,
) -> Run:
    """The whole protocol: add, resolve, acknowledge all, result again; lines start at 2."""
    items = [read_row(n, fields, MONEY) for n, fields in enumerate(rows, start=2)]
    matcher = Matcher(ledger, tolerance_s, MONEY)
    for item in items:
        if isinstance(item, OrderRow):
            matcher.add(item)
    counts = matcher.resolve()
    acknowledged = [trade_id for trade_id, _, _ in matcher.acknowledgements()]
    matcher.confirm(set(acknowledged))
    results: list[MatchResult | RowError] = [
        item if isinstance(item, RowError) else matcher.result(item) for item in items
    ]
    results += list(matcher.missing_in_file())
    return Run(counts, results, acknowledged)


def test_each_durable_id_matches_by_id_in_its_order_of_strength() -> None:
    ledger = [trade(1), trade(2), trade(3)]
    run = match(
        ledger,
        [
            row("order-1", trade_id="pt_test_1"),
            row("order-2", quote_id="pq_test_2"),
            row("order-3"),
        ],
    )
    assert [(r.outcome, r.tier, r.trade_id) for r in run.results] == [
        (MATCHED, ID, "pt_test_1"),
        (MATCHED, ID, "pt_test_2"),
        (MATCHED, ID, "pt_test_3"),
    ]
    assert run.counts == MatchCounts(3, 0, 0, 0, {ID: 3, AMOUNT_TIME: 0})


def test_a_foreign_order_id_is_matched_by_amount_and_time_and_the_ids_that_differ_listed() -> None:
    ledger = [trade(1, 10_000), trade(2, 2_500, at=NOON + timedelta(minutes=30))]
    run = match(
        ledger,
        [
            row("their-77", "25.00", at=NOON + timedelta(minutes=31)),
            row("their-78", "100", at=NOON - timedelta(seconds=40), trade_id="pt_nothing"),
        ],
    )
    first, second = run.by_line(2), run.by_line(3)
    assert (first.outcome, first.tier, first.trade_id) == (MATCHED, AMOUNT_TIME, "pt_test_2")
    assert [(d.field, d.file, d.ledger) for d in first.differences] == [
        ("partner_order_id", "their-77", "order-2")
    ]
    assert (second.outcome, second.tier, second.trade_id) == (MATCHED, AMOUNT_TIME, "pt_test_1")
    assert {d.field for d in second.differences} == {"trade_id", "partner_order_id"}


def test_an_id_that_names_nothing_falls_through_to_the_next_id() -> None:
    run = match([trade(1)], [row("order-1", trade_id="pt_typo")])
    result = run.by_line(2)
    assert (result.outcome, result.tier, result.trade_id) == (MATCHED, ID, "pt_test_1")
    assert [(d.field, d.file, d.ledger) for d in result.differences] == [
        ("trade_id", "pt_typo", "pt_test_1")
    ]


def test_ids_decide_across_the_whole_file_before_amount_and_time() -> None:
    # line 2 would take trade 1 by amount and time, but line 3 names it: the id wins
    run = match(
        [trade(1)],
        [row("foreign", "100.00"), row("whatever", "100.00", trade_id="pt_test_1")],
    )
    assert run.by_line(3).tier == ID and run.by_line(3).trade_id == "pt_test_1"
    assert run.by_line(2).outcome == MISSING_IN_LEDGER and run.by_line(2).tier is None


def test_conflicting_amounts_currencies_and_statuses_are_mismatches_with_both_values() -> None:
    ledger = [trade(1, 10_000), trade(2, 5_000, status="failed"), trade(3, 700, currency="USD")]
    run = match(
        ledger,
        [
            row("order-1", "120.00"),
            row("order-2", "50.00", status="Settled"),
            row("order-3", "7.00", currency="EUR"),
        ],
    )
    amount, status, currency = run.by_line(2), run.by_line(3), run.by_line(4)
    assert [(d.field, d.file, d.ledger) for d in amount.differences] == [
        ("amount", "120.00", "100.00")
    ]
    assert [(d.field, d.file, d.ledger) for d in status.differences] == [
        ("status", "settled", "failed")
    ]
    assert [(d.field, d.file, d.ledger) for d in currency.differences] == [
        ("currency", "EUR", "USD")
    ]
    assert {amount.outcome, status.outcome, currency.outcome} == {MISMATCHED}
    assert run.counts.mismatched == 3 and run.counts.matched == 0


def test_a_row_repeating_an_id_already_matched_is_a_duplicate_missing_in_the_ledger() -> None:
    run = match(
        [trade(1), trade(2)],
        [
            row("order-1", trade_id="pt_test_1"),
            row("order-2"),
            row("order-1 again", trade_id="pt_test_1"),
            row("order-2"),
        ],
    )
    assert run.by_line(4).outcome == MISSING_IN_LEDGER
    assert run.by_line(4).duplicate_of_line == 2 and run.by_line(4).trade_id == "pt_test_1"
    assert run.by_line(5).duplicate_of_line == 3
    assert run.counts.missing_in_ledger == 2 and run.counts.missing_in_file == 0


def test_an_order_retried_in_the_ledger_matches_each_row_to_the_closest_trade() -> None:
    failed = trade(1, order="order-7", status="failed", at=NOON)
    settled = trade(2, order="order-7", status="settled", at=NOON + timedelta(minutes=1))
    one = match([failed, settled], [row("order-7", status="settled")])
    assert one.by_line(2).trade_id == "pt_test_2" and one.by_line(2).outcome == MATCHED
    assert one.missing_in_file == ["pt_test_1"]
    both = match(
        [failed, settled], [row("order-7", status="settled"), row("order-7", status="failed")]
    )
    assert [both.by_line(n).trade_id for n in (2, 3)] == ["pt_test_2", "pt_test_1"]
    assert both.missing_in_file == []


def test_both_missing_sides_are_reported_and_margin_trades_never_are() -> None:
    ledger = [
        trade(1),
        trade(2, 3_300),
        trade(3, 4_400, in_window=False),  # the day before, within the tolerance
    ]
    run = match(ledger, [row("order-1"), row("only-in-the-file", "9.99")])
    assert run.by_line(3).outcome == MISSING_IN_LEDGER and run.by_line(3).trade_id is None
    assert run.missing_in_file == ["pt_test_2"]
    assert run.counts.missing_in_file == 1 and run.counts.missing_in_ledger == 1


def test_amount_and_time_take_the_nearest_trade_within_the_tolerance_and_no_further() -> None:
    ledger = [
        trade(1, at=NOON - timedelta(seconds=100)),
        trade(2, at=NOON + timedelta(seconds=60)),
        trade(3, at=NOON + timedelta(seconds=400)),
    ]
    run = match(ledger, [row("x"), row("y"), row("z")], tolerance_s=300)
    assert [run.by_line(n).trade_id for n in (2, 3, 4)] == ["pt_test_2", "pt_test_1", None]
    exact = match([trade(1, at=NOON + timedelta(seconds=300))], [row("x")], tolerance_s=300)
    assert exact.by_line(2).tier == AMOUNT_TIME
    beyond = [trade(1, at=NOON + timedelta(seconds=300, microseconds=1))]
    assert match(beyond, [row("x")], tolerance_s=300).by_line(2).outcome == MISSING_IN_LEDGER
    tie = [trade(1, at=NOON + timedelta(seconds=10)), trade(2, at=NOON - timedelta(seconds=10))]
    assert match(tie, [row("x")]).by_line(2).trade_id == "pt_test_2"  # the earlier one


def test_a_matched_final_status_acknowledges_only_what_waits_for_it() -> None:
    ledger = [
        trade(1, status="failed", awaiting=True),
        trade(2, status="returned", awaiting=True),
        trade(3, status="failed", awaiting=False),  # acknowledged already
        trade(4, status="failed", awaiting=True),
        trade(5, 500, status="returned", awaiting=True),
    ]
    run = match(
        ledger,
        [
            row("order-1", status="failed"),
            row("order-2", status="settled"),  # the partner thinks it settled: stays open
            row("order-3", status="failed"),
            row("order-4"),  # no status: nothing to acknowledge with
            row("order-5", "6.00", status="returned"),  # a mismatch never acknowledges
        ],
    )
    assert run.acknowledged == ["pt_test_1"]
    assert [run.by_line(n).acknowledged for n in range(2, 7)] == [
        True,
        False,
        False,
        False,
        False,
    ]


def test_bad_rows_are_typed_errors_with_their_line_and_field() -> None:
    run = match(
        [trade(1)],
        [
            row("order-1"),
            row("a", "1,00"),
            row("b", "1.001"),
            row("c", currency="XXX"),
            {**row("d"), "created_at": "2026-11-23T12:00:00"},
            {**row("e"), "partner_order_id": "  "},
            row("f", "0.00"),
            {**row("h"), "created_at": "9999-12-31T23:00:00Z"},  # no day to hold it against
            row("g", "100.000"),  # trailing zeros: the same amount
        ],
    )
    errors = [(r.line, r.field) for r in run.results if isinstance(r, RowError)]
    assert errors == [
        (3, "amount"),
        (4, "amount"),
        (5, "currency"),
        (6, "created_at"),
        (7, "partner_order_id"),
        (8, "amount"),
        (9, "created_at"),
    ]
    assert run.by_line(10).outcome == MISSING_IN_LEDGER  # read fine; trade 1 went to line 2


# -- the property ----------------------------------------------------------------------------


@st.composite
def ledgers(draw: st.DrawFn) -> list[LedgerOrder]:
    """Trades of one day, in ledger order, with distinct amounts and times within the day."""
    amounts = draw(st.lists(st.integers(1, 10**9), min_size=1, max_size=40, unique=True))
    found = []
    for n, amount in enumerate(amounts):
        offset = draw(st.integers(0, 86_399_000_000))
        found.append(
            trade(
                n,
                amount,
                at=datetime(2026, 11, 23, tzinfo=UTC) + timedelta(microseconds=offset),
                status=draw(st.sampled_from(["debited", "settled", "released", "failed"])),
                currency=draw(st.sampled_from(["EUR", "USD", "JPY"])),
            )
        )
    return sorted(found, key=lambda t: t.created_at_us)


def as_file(
    ledger: Sequence[LedgerOrder], strip_ids: bool, jitter_s: Sequence[int]
) -> list[dict[str, str | None]]:
    rows = []
    for order, jitter in zip(ledger, jitter_s, strict=True):
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=order.created_at_us)
        rows.append(
            row(
                f"theirs-{order.trade_id}" if strip_ids else order.partner_order_id,
                MONEY.format(order.amount_minor, order.currency),
                at=at + timedelta(seconds=jitter),
                trade_id=None if strip_ids else order.trade_id,
                quote_id=None if strip_ids else order.quote_id,
                status=order.status,
                currency=order.currency,
            )
        )
    return rows


@pytest.mark.soak
@settings(max_examples=sized(30, 600), deadline=None)
@given(ledger=ledgers(), data=st.data())
def test_a_file_made_from_the_ledger_matches_by_id_and_stripped_of_ids_by_amount_and_time(
    ledger: list[LedgerOrder], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(len(ledger))))
    jitter = data.draw(st.lists(st.integers(-300, 300), min_size=len(ledger), max_size=len(ledger)))
    shuffled = [ledger[i] for i in order]
    jitters = [jitter[i] for i in order]

    by_id = match(ledger, as_file(shuffled, strip_ids=False, jitter_s=jitters))
    assert by_id.counts == MatchCounts(len(ledger), 0, 0, 0, {ID: len(ledger), AMOUNT_TIME: 0})
    assert all(
        isinstance(r, MatchResult) and r.tier == ID and not r.differences for r in by_id.results
    )

    stripped = match(ledger, as_file(shuffled, strip_ids=True, jitter_s=jitters))
    assert stripped.counts == MatchCounts(len(ledger), 0, 0, 0, {ID: 0, AMOUNT_TIME: len(ledger)})
    for result, expected in zip(stripped.results, shuffled, strict=True):
        assert isinstance(result, MatchResult)
        assert (result.tier, result.trade_id) == (AMOUNT_TIME, expected.trade_id)
        assert [d.field for d in result.differences] == ["partner_order_id"]

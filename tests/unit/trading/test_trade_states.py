"""The trade state machine and the ledger movements it implies.

Goal: no trade can take a step the table in API.md does not allow, and every path a trade can
take moves the partner's balance exactly as "Balance semantics" says, in both balance models.

Method: walk every (from, to) pair of statuses, allowed and forbidden; enumerate every path from
acceptance to a terminal state and sum its movements against the API table; check with
hypothesis that every movement balances its journal and that unwinds link an earlier entry of
the same trade and never unwind more than it moved.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zeropools.domain import ledger
from zeropools.domain.errors import InvalidTransition
from zeropools.domain.ledger import Links
from zeropools.domain.quotes import Quote
from zeropools.domain.trades import (
    BALANCE_MODELS,
    DEBITED,
    FAILED,
    INITIAL_STATUS,
    PENDING_STATUSES,
    RELEASED,
    RESERVED,
    RETURNED,
    SETTLED,
    STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    Movement,
    accept,
    check_transition,
    move_trade,
    open_trade,
    transition,
)

NOW = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)

# Written out independently of TRANSITIONS so a wrong edit to the table fails here.
ALLOWED = {
    (RESERVED, SETTLED),
    (RESERVED, RELEASED),
    (RESERVED, FAILED),
    (DEBITED, SETTLED),
    (DEBITED, RELEASED),
    (DEBITED, FAILED),
    (SETTLED, RETURNED),
}
ALL_STATUSES = sorted({RESERVED, DEBITED, SETTLED, RELEASED, FAILED, RETURNED})


def paths_from(status: str) -> list[list[str]]:
    """Every sequence of statuses from ``status`` that ends in a terminal one.

    ``settled`` is terminal yet can still become ``returned``, so paths stop there and also
    continue through it.
    """
    here = [[status]] if status in TERMINAL_STATUSES else []
    return here + [
        [status, *rest] for nxt in sorted(TRANSITIONS[status]) for rest in paths_from(nxt)
    ]


def movements_along(model: str, path: list[str], amount_minor: int) -> list[Movement]:
    first, movements = accept(model, amount_minor)
    assert first == path[0]
    for before, after in itertools.pairwise(path):
        movements.extend(transition(model, before, after, amount_minor))
    return movements


def test_the_table_knows_exactly_the_six_statuses() -> None:
    assert sorted(STATUSES) == ALL_STATUSES
    assert {RESERVED, DEBITED} == PENDING_STATUSES
    assert {SETTLED, RELEASED, FAILED, RETURNED} == TERMINAL_STATUSES


@pytest.mark.parametrize(
    ("from_status", "to_status"), list(itertools.product(ALL_STATUSES, repeat=2))
)
def test_every_status_pair_is_allowed_only_if_the_api_table_lists_it(
    from_status: str, to_status: str
) -> None:
    if (from_status, to_status) in ALLOWED:
        check_transition(from_status, to_status)
        return
    with pytest.raises(InvalidTransition) as refused:
        check_transition(from_status, to_status)
    assert refused.value.code == "invalid_transition"
    assert refused.value.extra == {"from_status": from_status, "to_status": to_status}
    assert from_status in refused.value.detail and to_status in refused.value.detail


def test_settled_trade_can_only_be_returned() -> None:
    assert TRANSITIONS[SETTLED] == {RETURNED}
    for target in (SETTLED, RELEASED, FAILED, RESERVED, DEBITED):
        with pytest.raises(InvalidTransition, match="can only become returned"):
            check_transition(SETTLED, target)


@pytest.mark.parametrize("final", [RELEASED, FAILED, RETURNED])
def test_released_failed_and_returned_trades_never_change_again(final: str) -> None:
    for target in ALL_STATUSES:
        with pytest.raises(InvalidTransition, match="final"):
            check_transition(final, target)


def test_acceptance_starts_debit_trades_debited_and_reserve_trades_reserved() -> None:
    assert accept("debit", 100)[0] == DEBITED
    assert accept("reserve", 100)[0] == RESERVED
    assert dict(INITIAL_STATUS) == {"debit": DEBITED, "reserve": RESERVED}


# (model, path) -> (net available delta, net reserved delta) for an amount X = 1; from API.md.
EXPECTED_NET = {
    ("debit", (DEBITED, SETTLED)): (-1, 0),
    ("debit", (DEBITED, SETTLED, RETURNED)): (0, 0),
    ("debit", (DEBITED, RELEASED)): (0, 0),
    ("debit", (DEBITED, FAILED)): (0, 0),
    ("reserve", (RESERVED, SETTLED)): (-1, 0),
    ("reserve", (RESERVED, SETTLED, RETURNED)): (0, 0),
    ("reserve", (RESERVED, RELEASED)): (0, 0),
    ("reserve", (RESERVED, FAILED)): (0, 0),
}


def test_the_expected_paths_are_every_path_the_table_allows() -> None:
    walked = {
        (model, tuple(path))
        for model in BALANCE_MODELS
        for path in paths_from(INITIAL_STATUS[model])
    }
    assert walked == set(EXPECTED_NET)


@pytest.mark.parametrize(("model", "path"), sorted(EXPECTED_NET))
def test_every_path_nets_the_balance_as_the_api_table_says(
    model: str, path: tuple[str, ...]
) -> None:
    amount_minor = 10_000
    movements = movements_along(model, list(path), amount_minor)
    available = sum(m.available_delta_minor for m in movements)
    reserved = sum(m.reserved_delta_minor for m in movements)
    expected_available, expected_reserved = EXPECTED_NET[(model, path)]
    assert (available, reserved) == (
        expected_available * amount_minor,
        expected_reserved * amount_minor,
    )


@pytest.mark.parametrize(
    ("model", "path", "entry_types"),
    [
        ("debit", [DEBITED, SETTLED], ["buy_debit"]),
        ("debit", [DEBITED, SETTLED, RETURNED], ["buy_debit", "buy_return"]),
        ("debit", [DEBITED, RELEASED], ["buy_debit", "buy_refund"]),
        ("debit", [DEBITED, FAILED], ["buy_debit", "buy_refund"]),
        ("reserve", [RESERVED, SETTLED], ["trade_reserve", "trade_settle"]),
        ("reserve", [RESERVED, SETTLED, RETURNED], ["trade_reserve", "trade_settle", "buy_return"]),
        ("reserve", [RESERVED, RELEASED], ["trade_reserve", "trade_release"]),
        ("reserve", [RESERVED, FAILED], ["trade_reserve", "trade_release"]),
    ],
)
def test_each_path_posts_the_entry_types_named_in_the_api_table(
    model: str, path: list[str], entry_types: list[str]
) -> None:
    assert [m.entry_type for m in movements_along(model, path, 500)] == entry_types


def test_the_brief_debit_sequence_reproduces_from_the_movements() -> None:
    # PRODUCT-BRIEF: +1000.00, buy_debit -100.00, buy_refund +100.00, buy_debit -250.00 -> 750.00
    balance = 1000_00
    after = []
    for movement in [
        *accept("debit", 100_00)[1],
        *transition("debit", DEBITED, RELEASED, 100_00),
        *accept("debit", 250_00)[1],
        *transition("debit", DEBITED, SETTLED, 250_00),
    ]:
        balance += movement.available_delta_minor
        after.append((movement.entry_type, balance))
    assert after == [("buy_debit", 900_00), ("buy_refund", 1000_00), ("buy_debit", 750_00)]


@pytest.mark.parametrize(
    ("model", "from_status", "to_status", "expected"),
    [
        ("debit", DEBITED, SETTLED, []),
        (
            "debit",
            DEBITED,
            RELEASED,
            [Movement("buy_refund", 7, 0, ledger.PLATFORM_VENUE, -7, links="buy_debit")],
        ),
        (
            "debit",
            SETTLED,
            RETURNED,
            [Movement("buy_return", 7, 0, ledger.PLATFORM_VENUE, -7, links="buy_debit")],
        ),
        (
            "reserve",
            RESERVED,
            SETTLED,
            [Movement("trade_settle", 0, -7, ledger.PLATFORM_VENUE, 7, links=None)],
        ),
        ("reserve", RESERVED, FAILED, [Movement("trade_release", 7, -7, None, 0, "trade_reserve")]),
        (
            "reserve",
            SETTLED,
            RETURNED,
            [Movement("buy_return", 7, 0, ledger.PLATFORM_VENUE, -7, links="trade_settle")],
        ),
    ],
)
def test_each_transition_names_its_counter_account_and_the_entry_it_unwinds(
    model: str, from_status: str, to_status: str, expected: list[Movement]
) -> None:
    assert transition(model, from_status, to_status, 7) == expected


def test_a_forbidden_transition_is_refused_before_any_movement_is_computed() -> None:
    with pytest.raises(InvalidTransition):
        transition("reserve", RELEASED, SETTLED, 100)
    with pytest.raises(InvalidTransition):
        transition("debit", SETTLED, RELEASED, 100)


paths = st.sampled_from(sorted(EXPECTED_NET))
amounts = st.integers(min_value=1, max_value=10**15)


@given(paths, amounts)
def test_every_movement_balances_its_journal(
    model_path: tuple[str, tuple[str, ...]], amount_minor: int
) -> None:
    model, path = model_path
    for movement in movements_along(model, list(path), amount_minor):
        assert (
            movement.available_delta_minor
            + movement.reserved_delta_minor
            + movement.counter_delta_minor
            == 0
        )
        lines = movement.lines()
        assert sum(line.amount_minor for line in lines) == 0
        # The ledger's own structural check accepts what we hand it.
        links = Links(trade_id="pt_test_1", related_entry_id="ple_1" if movement.links else None)
        assert ledger.journal_problems(movement.entry_type, lines, links) == []


@given(paths, amounts)
def test_unwinds_link_an_earlier_entry_of_the_trade_and_never_unwind_more_than_it(
    model_path: tuple[str, tuple[str, ...]], amount_minor: int
) -> None:
    model, path = model_path
    seen: list[str] = []
    available = reserved = 0
    for movement in movements_along(model, list(path), amount_minor):
        if movement.links is not None:
            assert movement.links in seen, (movement, seen)
            assert seen.count(movement.entry_type) == 0, "each entry is unwound at most once"
        seen.append(movement.entry_type)
        available += movement.available_delta_minor
        reserved += movement.reserved_delta_minor
        # The trade never gives back more than it took, nor holds a negative reservation.
        assert -amount_minor <= available <= 0
        assert 0 <= reserved <= amount_minor
    assert reserved == 0, "no path ends with money still held"


def test_the_debit_model_cannot_step_a_reserved_trade_at_all() -> None:
    with pytest.raises(AssertionError):
        transition("debit", RESERVED, SETTLED, 100)
    with pytest.raises(AssertionError):
        transition("reserve", DEBITED, SETTLED, 100)


def make_quote() -> Quote:
    return Quote(
        id="pq_test_1",
        partner_id="partner_1",
        pool_id="EUR-USDT",
        source_currency="EUR",
        source_amount_minor=100_00,
        target_asset="USDT",
        target_amount_minor=107_957_500,
        rate="1.0850",
        fee_minor=50,
        fee_bps=50,
        created_at=NOW,
        expires_at=NOW + timedelta(seconds=30),
        status="open",
        partner_order_id="order_123",
    )


def test_open_trade_copies_the_quote_terms_and_emits_the_initial_event() -> None:
    change = open_trade(
        make_quote(),
        trade_id="pt_test_1",
        partner_order_id="order_123",
        balance_model="reserve",
        now=NOW,
    )
    trade = change.trade
    assert (trade.status, trade.quote_id, trade.pool_id) == (RESERVED, "pq_test_1", "EUR-USDT")
    assert (trade.source_amount_minor, trade.currency) == (100_00, "EUR")
    assert (trade.target_amount_minor, trade.asset) == (107_957_500, "USDT")
    assert change.event_type == "trade.reserved"
    assert [m.entry_type for m in change.movements] == ["trade_reserve"]


def test_settling_records_the_delivery_and_returning_records_the_reason() -> None:
    opened = open_trade(
        make_quote(),
        trade_id="pt_test_1",
        partner_order_id="order_123",
        balance_model="debit",
        now=NOW,
    ).trade
    later = NOW + timedelta(minutes=2)
    settled = move_trade(opened, SETTLED, now=later, tx_hash="0xabc")
    assert settled.trade.delivered_amount_minor == opened.target_amount_minor
    assert (settled.trade.tx_hash, settled.trade.updated_at) == ("0xabc", later)
    assert settled.movements == () and settled.event_type == "trade.settled"
    returned = move_trade(settled.trade, RETURNED, now=later, reason="recalled by venue")
    assert returned.trade.failure_reason == "recalled by venue"
    assert [m.entry_type for m in returned.movements] == ["buy_return"]
    with pytest.raises(InvalidTransition):
        move_trade(returned.trade, SETTLED, now=later)

"""Roll-forward of the finance export, as a property over random days of activity.

Goal: for any mix of credits, trades and their outcomes (release, fail, settle, return) spread
over consecutive past days, in either balance model, each day's export rolls forward (opening
plus the entries' moves is the closing), verifies offline, and one day's closing is the next
day's opening. Method: hypothesis draws the activity; each example gets a fresh partner on the
test's store (both stores), built on the domain clock; exports go through the service.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from finance_support import Day, new_day
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import ctx_for, sized
from zeropools.client import verify_export
from zeropools.domain.errors import InsufficientBalance
from zeropools.services import exports, signing
from zeropools.services.context import Deployment

OUTCOMES = ("open", "released", "failed", "settled", "returned")
step = st.one_of(
    st.tuples(st.just("fund"), st.integers(1, 50_000), st.just("")),
    st.tuples(st.just("trade"), st.integers(1_000, 20_000), st.sampled_from(OUTCOMES)),
)


def apply(day: Day, kind: str, cents: int, outcome: str) -> None:
    amount = f"{Decimal(cents) / 100:.2f}"
    if kind == "fund":
        day.fund(amount)
        return
    try:
        trade_id = day.trade(amount)
    except InsufficientBalance:
        return  # refused executions leave no entry
    if outcome in ("settled", "returned"):
        day.move(trade_id, "settled")
    if outcome == "returned":
        day.move(trade_id, "returned", reason="refused")
    elif outcome in ("released", "failed"):
        day.move(trade_id, outcome, reason="venue")


def export(dep: Deployment, partner_id: str, date: str) -> bytes:
    ctx = ctx_for("partner_admin", partner_id)
    request = exports.export_request(dep, ctx, None, date=date, currency="EUR", fmt="csv", tz=None)
    opened = exports.open_export(dep, request)
    try:
        return b"".join(opened.chunks)
    finally:
        opened.close()


@pytest.mark.soak
@settings(
    max_examples=sized(8, 80),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    days=st.lists(st.lists(step, max_size=6), min_size=1, max_size=2),
    model=st.sampled_from(("debit", "reserve")),
)
def test_every_day_rolls_forward_and_the_next_day_opens_where_it_closed(
    fdep: Deployment, days: list[list[tuple[str, int, str]]], model: str
) -> None:
    key = signing.current_key(fdep).public_key
    first = new_day(fdep, days_ago=len(days) + 1, balance_model=model)
    previous_closing: tuple[str, str] | None = None
    for offset, steps in enumerate(days):
        day = Day(fdep, first.partner_id, first.reference, first.start + timedelta(days=offset))
        for kind, cents, outcome in steps:
            apply(day, kind, cents, outcome)
        report = verify_export(export(fdep, day.partner_id, day.date), key, require_signature=False)
        if previous_closing is not None:
            assert report.opening == previous_closing
        previous_closing = report.closing

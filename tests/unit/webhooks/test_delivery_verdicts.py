"""What an attempt's outcome means, and which event types an endpoint may ask for.

Goal: ``deliveries.judge`` turns a success into ``succeeded``, a failure into ``pending`` with
the next attempt at the backoff schedule's delay (jitter only shortening it), and the last
allowed failure into ``failed``; across every attempt the schedule spans the 24-hour window.
``check_event_types`` reads "left out" as every type and refuses empty lists, unknown types,
``"*"`` mixed with types, and the platform-only ``payin.needs_review``.
Method: the pure functions, with fixed times and jitters.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zeropools.domain import limits
from zeropools.domain.deliveries import FAILED, PENDING, SUCCEEDED, judge
from zeropools.domain.errors import ValidationFailed
from zeropools.domain.webhook_endpoints import EVERY_TYPE, check_event_types

NOW = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)


def test_a_success_is_succeeded_whatever_the_attempt() -> None:
    for attempt in (1, 7, limits.WEBHOOK_ATTEMPTS_MAX):
        verdict = judge(attempt, True, now=NOW, jitter=0.5)
        assert verdict.status == SUCCEEDED and verdict.next_attempt_at is None and verdict.done


def test_a_failure_is_pending_until_the_backoff_delay_and_jitter_only_shortens_it() -> None:
    first = judge(1, False, now=NOW, jitter=0.0)
    assert first.status == PENDING and not first.done
    assert first.next_attempt_at == NOW + timedelta(seconds=limits.WEBHOOK_BACKOFF_BASE_S)
    third = judge(3, False, now=NOW, jitter=0.0)
    assert third.next_attempt_at == NOW + timedelta(seconds=4 * limits.WEBHOOK_BACKOFF_BASE_S)
    jittered = judge(3, False, now=NOW, jitter=0.999)
    assert jittered.next_attempt_at is not None and third.next_attempt_at is not None
    assert NOW < jittered.next_attempt_at < third.next_attempt_at


def test_the_last_attempt_failing_is_failed_and_the_schedule_spans_a_day() -> None:
    at = NOW
    for attempt in range(1, limits.WEBHOOK_ATTEMPTS_MAX):
        verdict = judge(attempt, False, now=at, jitter=0.999)  # the shortest schedule
        assert verdict.status == PENDING and verdict.next_attempt_at is not None
        at = verdict.next_attempt_at
    last = judge(limits.WEBHOOK_ATTEMPTS_MAX, False, now=at, jitter=0.0)

    assert last.status == FAILED and last.next_attempt_at is None and last.done
    assert at - NOW >= timedelta(seconds=limits.WEBHOOK_RETRY_WINDOW_S)


def test_left_out_event_types_mean_every_type_and_duplicates_collapse() -> None:
    assert check_event_types(None) == (EVERY_TYPE,)
    assert check_event_types(["*"]) == (EVERY_TYPE,)
    assert check_event_types(["trade.settled", "payin.credited", "trade.settled"]) == (
        "trade.settled",
        "payin.credited",
    )


@pytest.mark.parametrize(
    "value",
    [
        [],
        ["*", "trade.settled"],
        ["trade.exploded"],
        ["payin.needs_review"],
        "trade.settled",
        [3],
    ],
)
def test_event_types_that_can_never_be_delivered_are_refused(value: object) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_event_types(value)
    assert refused.value.extra["errors"][0]["field"] == "event_types"

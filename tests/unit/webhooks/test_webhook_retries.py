"""The retry schedule of a webhook delivery.

Goal: a failing endpoint is retried for at least ``WEBHOOK_RETRY_WINDOW_S`` (24 hours, API.md)
whatever the jitter draws, no wait is longer than the cap, waits grow with the attempt number,
and after ``WEBHOOK_ATTEMPTS_MAX`` attempts the delivery gives up (``None`` → ``failed``).

Method: worked examples at both ends of the schedule, then hypothesis over every sequence of
jitters (the whole schedule's span) and over attempts, jitters, bases and caps (monotonicity).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zeropools.domain import limits
from zeropools.domain.webhooks import backoff_delay_s, next_attempt_delay_s, retry_span_min_s

JITTER = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
RETRIES = limits.WEBHOOK_ATTEMPTS_MAX - 1  # waits between the attempts


def schedule(jitters: list[float]) -> list[float | None]:
    return [next_attempt_delay_s(n, j) for n, j in enumerate(jitters, start=1)]


def test_the_first_retry_waits_the_base_delay_without_jitter() -> None:
    assert next_attempt_delay_s(1, 0.0) == limits.WEBHOOK_BACKOFF_BASE_S
    assert next_attempt_delay_s(2, 0.0) == 2 * limits.WEBHOOK_BACKOFF_BASE_S


def test_jitter_only_shortens_a_wait_by_at_most_its_fraction() -> None:
    shortest = next_attempt_delay_s(1, 0.999999)
    assert shortest is not None
    assert shortest < limits.WEBHOOK_BACKOFF_BASE_S
    assert shortest > limits.WEBHOOK_BACKOFF_BASE_S * (1 - limits.WEBHOOK_BACKOFF_JITTER_FRACTION)


def test_late_retries_wait_the_cap() -> None:
    assert next_attempt_delay_s(RETRIES, 0.0) == limits.WEBHOOK_BACKOFF_CAP_S


def test_the_last_attempt_gives_up_and_so_does_any_later_one() -> None:
    assert next_attempt_delay_s(limits.WEBHOOK_ATTEMPTS_MAX, 0.0) is None
    assert next_attempt_delay_s(limits.WEBHOOK_ATTEMPTS_MAX + 5, 0.5) is None


def test_the_shortest_schedule_covers_the_window() -> None:
    assert retry_span_min_s() >= limits.WEBHOOK_RETRY_WINDOW_S == 24 * 3600


def test_attempt_zero_and_jitter_one_are_bugs() -> None:
    with pytest.raises(AssertionError):
        next_attempt_delay_s(0, 0.0)
    with pytest.raises(AssertionError):
        next_attempt_delay_s(1, 1.0)


@given(st.lists(JITTER, min_size=RETRIES, max_size=RETRIES))
def test_any_jitters_keep_retrying_for_at_least_24_hours(jitters: list[float]) -> None:
    waits = schedule(jitters)
    assert all(wait is not None for wait in waits)
    assert sum(wait for wait in waits if wait is not None) >= limits.WEBHOOK_RETRY_WINDOW_S


@given(attempt=st.integers(min_value=1, max_value=RETRIES - 1), jitter=JITTER)
def test_with_the_same_jitter_a_later_wait_is_never_shorter(attempt: int, jitter: float) -> None:
    this, following = (
        next_attempt_delay_s(attempt, jitter),
        next_attempt_delay_s(attempt + 1, jitter),
    )
    assert this is not None and following is not None
    assert this <= following <= limits.WEBHOOK_BACKOFF_CAP_S


@given(
    attempt=st.integers(min_value=1, max_value=200),
    jitter=JITTER,
    base_s=st.integers(min_value=1, max_value=600),
    cap_s=st.integers(min_value=1, max_value=86_400),
    raise_s=st.integers(min_value=0, max_value=86_400),
)
def test_a_wait_is_non_decreasing_in_its_cap_and_never_above_it(
    attempt: int, jitter: float, base_s: int, cap_s: int, raise_s: int
) -> None:
    wait = backoff_delay_s(attempt, jitter, base_s=base_s, cap_s=cap_s)
    assert 0 < wait <= cap_s
    assert wait <= backoff_delay_s(attempt, jitter, base_s=base_s, cap_s=cap_s + raise_s)

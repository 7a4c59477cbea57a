"""Webhook deliveries, the pure parts: what a worker claims, and what an attempt's outcome means.

A worker *claims* work in one short transaction (a ``Claim``: an endpoint under its lease, the
event to send, the attempt's number), sends outside any transaction, and records the attempt
in another. ``judge`` decides what the attempt left the delivery in:

- ``succeeded``: a 2xx. The endpoint's cursor moves past the event;
- ``pending``: it failed and another attempt is due at ``next_attempt_at``
  (``webhooks.next_attempt_delay_s``: exponential backoff with jitter, >= 24 h in all);
- ``failed``: the last attempt failed; the event is given up and the cursor moves past it, so
  one undeliverable event never blocks the ones after it for longer than the retry window.

Each attempt is a row of the delivery log, never changed afterwards (``DeliveryAttempt``).
A redelivery (``POST /v1/events/{id}/redeliver``) is one event sent to one endpoint again,
outside the endpoint's order, on the same schedule (``Redelivery``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from zeropools.domain import limits
from zeropools.domain.events import Event
from zeropools.domain.webhook_endpoints import WebhookEndpoint
from zeropools.domain.webhooks import next_attempt_delay_s

SUCCEEDED = "succeeded"
PENDING = "pending"
FAILED = "failed"
ATTEMPT_STATUSES = (SUCCEEDED, PENDING, FAILED)
CANCELED = "canceled"  # a redelivery whose endpoint was deleted before it was sent
REDELIVERY_STATUSES = (PENDING, SUCCEEDED, FAILED, CANCELED)

# A lease must outlast the longest attempt, or a second worker would send while the first one
# is still waiting for its answer (the DNS lookup before it is bounded by the resolver only).
assert limits.WEBHOOK_LEASE_S > limits.WEBHOOK_TOTAL_TIMEOUT_S + limits.WEBHOOK_CONNECT_TIMEOUT_S


@dataclass(frozen=True)
class Claim:
    """One attempt a worker holds the lease for: send ``event`` to ``endpoint`` now.

    ``lease_owner`` is unique to this claim, so recording it can tell whether the lease was
    still this worker's (a worker that outlived its lease records its attempt in the log but
    leaves the endpoint's state to the worker that took over).
    """

    lease_owner: str
    endpoint: WebhookEndpoint
    event: Event
    attempt: int  # this attempt's number, from 1
    redelivery_id: str | None = None

    def __post_init__(self) -> None:
        assert self.attempt >= 1, self.attempt
        assert self.event.stream == self.endpoint.partner_id, "a partner's events only"


@dataclass(frozen=True)
class DeliveryAttempt:
    """A row of the delivery log: one attempt and what it left the delivery in."""

    id: str
    partner_id: str
    endpoint_id: str
    event_id: str
    redelivery_id: str | None
    attempt: int
    status: str
    status_code: int | None
    latency_ms: int | None
    error: str | None
    attempted_at: str
    next_attempt_at: str | None

    def __post_init__(self) -> None:
        assert self.status in ATTEMPT_STATUSES, self.status
        assert (self.status == PENDING) == (self.next_attempt_at is not None)


@dataclass(frozen=True)
class Redelivery:
    id: str
    partner_id: str
    endpoint_id: str
    event_id: str
    status: str
    attempt: int  # attempts made so far
    next_attempt_at: str
    requested_at: str
    request_id: str
    lease_owner: str | None = None
    lease_expires_at: str | None = None

    def __post_init__(self) -> None:
        assert self.status in REDELIVERY_STATUSES, self.status


@dataclass(frozen=True)
class Verdict:
    """What one attempt left the delivery in."""

    status: str
    next_attempt_at: datetime | None  # when ``pending``

    @property
    def done(self) -> bool:
        """The event is finished with (delivered or given up): the cursor moves past it."""
        return self.status != PENDING


def judge(attempt: int, succeeded: bool, *, now: datetime, jitter: float) -> Verdict:
    """The verdict on attempt number ``attempt`` (from 1), recorded at ``now``; ``jitter`` is a
    uniform random number in [0, 1) from the caller (the domain draws no randomness)."""
    assert attempt >= 1, attempt
    assert now.tzinfo is not None, "naive datetimes are a bug: every time here is UTC"
    if succeeded:
        return Verdict(SUCCEEDED, None)
    delay_s = next_attempt_delay_s(attempt, jitter)
    if delay_s is None:
        return Verdict(FAILED, None)
    return Verdict(PENDING, now + timedelta(seconds=delay_s))

"""A partner's webhook endpoint: where its events go, which ones, signed with which secrets.

An endpoint is also the queue of its deliveries. A partner's events have a gap-free sequence
and are delivered to each endpoint in that order, so the queue needs no rows of its own: a
cursor (``delivered_sequence``: every event up to it is done, delivered or given up) plus the
attempt count and due time of the first wanted event after it. Workers take an endpoint with a
lease (``lease_owner``, ``lease_expires_at``); one lease per endpoint is what keeps its events in
order and its receiver at one request at a time.

``event_types`` is a tuple of types from ``domain.events.EVENT_TYPES``, or ``("*",)``: every type
of the partner's stream, including types added later. Platform-only types (``payin.needs_review``
goes to the operators' stream) can never reach a partner's endpoint, so they are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from zeropools.domain import limits
from zeropools.domain.errors import ValidationFailed
from zeropools.domain.events import EVENT_TYPES, PAYIN_NEEDS_REVIEW
from zeropools.domain.webhooks import EndpointSecrets

ENABLED = "enabled"
DELETED = "deleted"
STATUSES = (ENABLED, DELETED)
EVERY_TYPE = "*"
PLATFORM_ONLY_TYPES = frozenset({PAYIN_NEEDS_REVIEW})
PARTNER_EVENT_TYPES = EVENT_TYPES - PLATFORM_ONLY_TYPES


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    partner_id: str
    url: str  # as normalised by ``webhooks.check_url``
    description: str | None
    event_types: tuple[str, ...]
    status: str
    secrets: EndpointSecrets
    created_at: str
    deleted_at: str | None
    # delivery state: the cursor, the attempts made on the event after it, when the next is due
    delivered_sequence: int
    attempt: int
    next_attempt_at: str
    lease_owner: str | None = None
    lease_expires_at: str | None = None

    def __post_init__(self) -> None:
        assert self.status in STATUSES, self.status
        assert (self.status == DELETED) == (self.deleted_at is not None)
        assert self.event_types, "an endpoint wants at least one type"
        assert self.delivered_sequence >= 0 and self.attempt >= 0

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED

    @property
    def every_type(self) -> bool:
        return EVERY_TYPE in self.event_types

    def wants(self, event_type: str) -> bool:
        return self.every_type or event_type in self.event_types

    def type_filter(self) -> tuple[str, ...]:
        """The types to select from the stream; empty means every type (``list_events``)."""
        return () if self.every_type else self.event_types


def check_event_types(value: object) -> tuple[str, ...]:
    """The endpoint's types from the partner's input; ``None`` (left out) means every type.

    Refused: an empty list (an endpoint that receives nothing), ``"*"`` mixed with types (it
    already means all), unknown types, platform-only types. Duplicates are dropped, order kept.
    """
    if value is None:
        return (EVERY_TYPE,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed.field("event_types", "a list of event types")
    if not value:
        raise ValidationFailed.field(
            "event_types", "at least one type; leave the field out to receive every type"
        )
    found = tuple(dict.fromkeys(value))
    if EVERY_TYPE in found:
        if len(found) > 1:
            raise ValidationFailed.field("event_types", '"*" means every type: send it alone')
        return found
    for kind in found:
        if kind in PLATFORM_ONLY_TYPES:
            raise ValidationFailed.field(
                "event_types", f"{kind} goes to the platform's operators, never to partners"
            )
        if kind not in EVENT_TYPES:
            raise ValidationFailed.field(
                "event_types", f"{kind!r} is not one of {', '.join(sorted(PARTNER_EVENT_TYPES))}"
            )
    return found


def check_description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limits.WEBHOOK_DESCRIPTION_CHARS_MAX:
        raise ValidationFailed.field(
            "description", f"text of at most {limits.WEBHOOK_DESCRIPTION_CHARS_MAX} characters"
        )
    return value or None

"""Webhook delivery, the store-facing half: claims, records, redeliveries, the delivery log.

The worker (``zeropools.workers.webhooks``) sends; everything it reads or writes goes through
here, as commands through ``dispatch``, so ``workers`` never touch the store. One attempt is:

1. ``claim``: one short write transaction leases due endpoints (and due redeliveries) to the
   worker and picks, per endpoint, the first event after its cursor that it wants. Events it
   does not want are skipped by moving the cursor past them in the same transaction;
2. the worker sends, outside any transaction;
3. ``record``: another short transaction appends the attempt to the log and, while the lease is
   still this claim's, moves the cursor past the event (delivered, or given up after the last
   attempt) or schedules the next attempt, and lets the endpoint go.

At least once, in order: the cursor moves only in step 3, so a worker that dies between 2 and 3
leaves the endpoint leased at the same event until ``WEBHOOK_LEASE_S`` ends; then any worker
claims it again and sends the same event, with the same ``webhook-id``. A stream's events
commit in sequence order (``EventsPort.reserve_event_sequences``), so once an event is visible
every earlier one is too, and a cursor never skips one that was still being written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from zeropools.domain import ids, limits
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.deliveries import (
    CANCELED,
    PENDING,
    Claim,
    DeliveryAttempt,
    Redelivery,
    judge,
)
from zeropools.domain.errors import InvalidTransition, NotFound, ValidationFailed
from zeropools.domain.events import PLATFORM_STREAM
from zeropools.domain.paging import Page
from zeropools.domain.webhook_endpoints import WebhookEndpoint
from zeropools.services import dispatch
from zeropools.services.commands import ClaimWebhookWork, RecordWebhookAttempt, RequestRedelivery
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.services.webhook_endpoints import ADMIN_ROLES, not_found, owned
from zeropools.store.protocol import Tx


@dataclass(frozen=True)
class Recorded:
    """The logged attempt, and whether the claim still held its lease (if not, another worker
    took the endpoint over and its state was left to that worker)."""

    attempt: DeliveryAttempt
    lease_kept: bool


def _system_ctx(now: datetime) -> Ctx:
    return Ctx(request_id=ids.new_id(ids.REQUEST), now=now)


# the worker's side ----------------------------------------------------------------------------


def claim(dep: Deployment, *, worker_id: str, now: datetime, limit: int) -> list[Claim]:
    """Up to ``limit`` attempts due at ``now``, each under a lease of ``WEBHOOK_LEASE_S``.

    A read looks first, so an idle worker costs a snapshot read, not a write transaction (on
    SQLite, a write would take the database's write lock from the API every poll).
    """
    assert limit >= 1, limit
    if not dep.store.read(lambda tx: tx.webhook_work_due(to_rfc3339(now))):
        return []
    return cast(
        list[Claim], dispatch.apply(dep, _system_ctx(now), ClaimWebhookWork(worker_id, limit))
    )


def claim_in(dep: Deployment, ctx: Ctx, tx: Tx, command: ClaimWebhookWork) -> list[Claim]:
    now = to_rfc3339(ctx.now)
    expires = to_rfc3339(ctx.now + timedelta(seconds=limits.WEBHOOK_LEASE_S))
    owner = f"{command.worker_id}/{secrets.token_hex(8)}"  # unique to this claim
    claims: list[Claim] = []
    # Redeliveries get up to half the room first, so a busy stream cannot starve them; the
    # endpoints' own deliveries take the rest, and redeliveries whatever those leave.
    first_redeliveries = _claim_redeliveries(tx, now, owner, expires, command.limit // 2)
    claims += first_redeliveries
    for endpoint in tx.lease_webhook_endpoints(now, owner, expires, command.limit - len(claims)):
        found = _next_event(tx, endpoint, owner)
        if found is not None:
            claims.append(found)
    if len(claims) < command.limit:
        claims += _claim_redeliveries(tx, now, owner, expires, command.limit - len(claims))
    return claims


def _next_event(tx: Tx, endpoint: WebhookEndpoint, owner: str) -> Claim | None:
    """The claim of the first event after the cursor the endpoint wants; if there is none, the
    cursor moves past the unwanted ones and the endpoint is let go."""
    assert endpoint.lease_owner == owner
    last = tx.last_event_sequence(endpoint.partner_id)  # read first: every event <= it is final
    wanted = tx.list_events(
        endpoint.partner_id, endpoint.delivered_sequence, endpoint.type_filter(), 1
    )
    if wanted:
        return Claim(owner, endpoint, wanted[0], endpoint.attempt + 1)
    tx.release_webhook_endpoint(
        endpoint.id,
        owner,
        delivered_sequence=max(last, endpoint.delivered_sequence),
        attempt=0,
        next_attempt_at=endpoint.next_attempt_at,
    )
    return None


def _claim_redeliveries(tx: Tx, now: str, owner: str, expires: str, limit: int) -> list[Claim]:
    if limit <= 0:
        return []
    claims: list[Claim] = []
    for redelivery in tx.lease_webhook_redeliveries(now, owner, expires, limit):
        endpoint = tx.get_webhook_endpoint(redelivery.endpoint_id)
        event = tx.get_event(redelivery.event_id)
        if endpoint is None or not endpoint.enabled or event is None:
            tx.release_webhook_redelivery(
                redelivery.id,
                owner,
                status=CANCELED,
                attempt=redelivery.attempt,
                next_attempt_at=redelivery.next_attempt_at,
            )
            continue
        claims.append(Claim(owner, endpoint, event, redelivery.attempt + 1, redelivery.id))
    return claims


def record(dep: Deployment, command: RecordWebhookAttempt, *, now: datetime) -> Recorded:
    """Log the attempt and move the delivery on (see the module docstring, step 3)."""
    return cast(Recorded, dispatch.apply(dep, _system_ctx(now), command))


def record_in(dep: Deployment, ctx: Ctx, tx: Tx, command: RecordWebhookAttempt) -> Recorded:
    c = command.claim
    verdict = judge(c.attempt, command.succeeded, now=ctx.now, jitter=command.jitter)
    next_attempt_at = verdict.next_attempt_at
    logged = DeliveryAttempt(
        id=ids.new_id(ids.WEBHOOK_DELIVERY),
        partner_id=c.endpoint.partner_id,
        endpoint_id=c.endpoint.id,
        event_id=c.event.id,
        redelivery_id=c.redelivery_id,
        attempt=c.attempt,
        status=verdict.status,
        status_code=command.status_code,
        latency_ms=command.latency_ms,
        error=command.error,
        attempted_at=to_rfc3339(command.attempted_at),
        next_attempt_at=None if next_attempt_at is None else to_rfc3339(next_attempt_at),
    )
    tx.insert_webhook_delivery(logged)
    due = to_rfc3339(next_attempt_at or ctx.now)  # done: the next event is due at once
    if c.redelivery_id is not None:
        kept = tx.release_webhook_redelivery(
            c.redelivery_id,
            c.lease_owner,
            status=verdict.status,
            attempt=c.attempt,
            next_attempt_at=due,
        )
    elif verdict.done:
        kept = tx.release_webhook_endpoint(
            c.endpoint.id,
            c.lease_owner,
            delivered_sequence=c.event.sequence,
            attempt=0,
            next_attempt_at=due,
        )
    else:
        kept = tx.release_webhook_endpoint(
            c.endpoint.id,
            c.lease_owner,
            delivered_sequence=c.endpoint.delivered_sequence,
            attempt=c.attempt,
            next_attempt_at=due,
        )
    return Recorded(logged, kept)


# the API's side -------------------------------------------------------------------------------


def redeliver(
    dep: Deployment, ctx: Ctx, event_id: str, endpoint_id: str | None = None
) -> list[Redelivery]:
    """Send an event again: to ``endpoint_id``, or to every enabled endpoint that wants it."""
    command = RequestRedelivery(event_id, endpoint_id)
    return cast(list[Redelivery], dispatch.apply(dep, ctx, command))


def redeliver_in(dep: Deployment, ctx: Ctx, tx: Tx, command: RequestRedelivery) -> list[Redelivery]:
    actor = require_role(ctx, *ADMIN_ROLES)
    event = tx.get_event(command.event_id)
    if event is None or (not actor.is_operator and event.stream != actor.partner_id):
        raise NotFound(f"No event {command.event_id!r}.")
    if event.stream == PLATFORM_STREAM:
        raise ValidationFailed.field(
            "event_id", "platform events go to operators, not to partners' webhook endpoints"
        )
    if command.endpoint_id:
        endpoint = tx.get_webhook_endpoint(command.endpoint_id)
        if endpoint is None or endpoint.partner_id != event.stream:
            raise not_found(command.endpoint_id)
        if not endpoint.enabled:
            raise InvalidTransition(
                f"Webhook endpoint {endpoint.id} is deleted; nothing is sent to it.",
                endpoint_status=endpoint.status,
            )
        targets = [endpoint]
    else:
        every = tx.list_webhook_endpoints(
            event.stream, Page.of(limits.WEBHOOK_ENDPOINTS_PER_PARTNER_MAX)
        )
        targets = [endpoint for endpoint in every if endpoint.wants(event.type)]
    now = to_rfc3339(ctx.now)
    redeliveries = [
        Redelivery(
            id=ids.new_id(ids.WEBHOOK_REDELIVERY),
            partner_id=event.stream,
            endpoint_id=endpoint.id,
            event_id=event.id,
            status=PENDING,
            attempt=0,
            next_attempt_at=now,
            requested_at=now,
            request_id=ctx.request_id,
        )
        for endpoint in targets
    ]
    tx.insert_webhook_redeliveries(redeliveries)
    return redeliveries


def list_deliveries(
    dep: Deployment, ctx: Ctx, endpoint_id: str, *, partner_id: str | None, page: Page
) -> list[DeliveryAttempt]:
    """The endpoint's attempt log, newest first (``page.limit`` rows)."""

    def work(tx: Tx) -> list[DeliveryAttempt]:
        endpoint = owned(ctx, tx, endpoint_id, partner_id)
        return tx.list_webhook_deliveries(endpoint.partner_id, endpoint.id, page)

    return dep.store.read(work)

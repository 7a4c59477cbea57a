"""Webhook endpoints: register, list, read, delete, rotate the secret (partner admins, operators).

Every write is a command through ``dispatch``. The secret is made here, returned once (at
creation and at each rotation) and stored as is, because signing needs it (API keys, which are
only ever compared, are stored hashed). An endpoint starts at the end of its partner's stream:
it receives the events written after it was registered; older ones stay readable through
``GET /v1/events`` and can be sent with a redelivery.

Who sees what: a partner admin its own partner's endpoints, an operator any partner's (naming
the partner where a list needs one); another partner's endpoint answers exactly like an id that
does not exist. ``partner_server`` keys get 403: endpoints decide where a partner's data goes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import cast

from zeropools.domain import ids, limits
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import InvalidTransition, NotFound, ValidationFailed
from zeropools.domain.paging import Page
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN
from zeropools.domain.webhook_endpoints import (
    DELETED,
    ENABLED,
    WebhookEndpoint,
    check_description,
    check_event_types,
)
from zeropools.domain.webhooks import EndpointSecrets, check_url, new_secret, rotate
from zeropools.services import dispatch
from zeropools.services.commands import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RotateWebhookSecret,
)
from zeropools.services.context import Ctx, Deployment, require_role, scoped_partner
from zeropools.store.protocol import Tx

ADMIN_ROLES = (OPERATOR, PARTNER_ADMIN)


@dataclass(frozen=True)
class ShownSecret:
    """An endpoint with its new secret, shown this once."""

    endpoint: WebhookEndpoint
    secret: str


def _new_secret() -> str:
    return new_secret(secrets.token_bytes(limits.WEBHOOK_SECRET_BYTES))


def not_found(endpoint_id: str) -> NotFound:
    """The one answer for an unknown id and another partner's, so neither tells them apart."""
    return NotFound(f"No webhook endpoint {endpoint_id!r}.")


def owned(ctx: Ctx, tx: Tx, endpoint_id: str, partner_id: str | None = None) -> WebhookEndpoint:
    """The endpoint, if the caller may see it (an operator naming a partner sees only that
    partner's); else ``NotFound``, the same as for an unknown id."""
    actor = require_role(ctx, *ADMIN_ROLES)
    owner = actor.partner_id if not actor.is_operator else partner_id
    if not actor.is_operator and partner_id and partner_id != actor.partner_id:
        raise not_found(endpoint_id)
    found = tx.get_webhook_endpoint(endpoint_id)
    if found is None or (owner is not None and found.partner_id != owner):
        raise not_found(endpoint_id)
    return found


# writes ---------------------------------------------------------------------------------------


def create_endpoint(
    dep: Deployment,
    ctx: Ctx,
    *,
    url: str,
    event_types: object = None,
    description: object = None,
    partner_id: str | None = None,
) -> ShownSecret:
    command = CreateWebhookEndpoint(url, event_types, description, partner_id)
    return cast(ShownSecret, dispatch.apply(dep, ctx, command))


def create_in(dep: Deployment, ctx: Ctx, tx: Tx, command: CreateWebhookEndpoint) -> ShownSecret:
    require_role(ctx, *ADMIN_ROLES)
    partner_id = scoped_partner(ctx, command.partner_id)
    if not isinstance(command.url, str):
        raise ValidationFailed.field("url", "must be a string")
    url = check_url(command.url, mode=dep.mode, allow_private=dep.webhook_allow_private)
    event_types = check_event_types(command.event_types)
    description = check_description(command.description)
    if tx.get_partner(partner_id) is None:
        raise NotFound(f"No partner {partner_id!r}.")
    if tx.count_webhook_endpoints(partner_id) >= limits.WEBHOOK_ENDPOINTS_PER_PARTNER_MAX:
        raise ValidationFailed.field(
            "url",
            f"at most {limits.WEBHOOK_ENDPOINTS_PER_PARTNER_MAX} endpoints per partner; "
            "delete one first",
        )
    secret = _new_secret()
    now = to_rfc3339(ctx.now)
    endpoint = WebhookEndpoint(
        id=ids.new_id(ids.WEBHOOK_ENDPOINT),
        partner_id=partner_id,
        url=url,
        description=description,
        event_types=event_types,
        status=ENABLED,
        secrets=EndpointSecrets(secret),
        created_at=now,
        deleted_at=None,
        # from the end of the stream: the events written after the endpoint was registered
        delivered_sequence=tx.last_event_sequence(partner_id),
        attempt=0,
        next_attempt_at=now,
    )
    tx.insert_webhook_endpoint(endpoint)
    return ShownSecret(endpoint, secret)


def delete_endpoint(
    dep: Deployment, ctx: Ctx, endpoint_id: str, partner_id: str | None = None
) -> WebhookEndpoint:
    command = DeleteWebhookEndpoint(endpoint_id, partner_id)
    return cast(WebhookEndpoint, dispatch.apply(dep, ctx, command))


def delete_in(dep: Deployment, ctx: Ctx, tx: Tx, command: DeleteWebhookEndpoint) -> WebhookEndpoint:
    """Stop deliveries (and pending redeliveries); the endpoint and its log stay readable.
    Deleting a deleted endpoint answers it again."""
    endpoint = owned(ctx, tx, command.endpoint_id, command.partner_id)
    if not endpoint.enabled:
        return endpoint
    deleted = replace(endpoint, status=DELETED, deleted_at=to_rfc3339(ctx.now))
    tx.update_webhook_endpoint(deleted)
    tx.cancel_webhook_redeliveries(endpoint.id)
    return deleted


def rotate_secret(
    dep: Deployment,
    ctx: Ctx,
    endpoint_id: str,
    *,
    overlap_s: object = None,
    partner_id: str | None = None,
) -> ShownSecret:
    command = RotateWebhookSecret(endpoint_id, overlap_s, partner_id)
    return cast(ShownSecret, dispatch.apply(dep, ctx, command))


def rotate_in(dep: Deployment, ctx: Ctx, tx: Tx, command: RotateWebhookSecret) -> ShownSecret:
    """A new current secret; the old one keeps signing for ``overlap_s`` (default 24 h), so a
    receiver can switch secrets without missing a delivery."""
    endpoint = owned(ctx, tx, command.endpoint_id, command.partner_id)
    if not endpoint.enabled:
        raise InvalidTransition(
            f"Webhook endpoint {endpoint.id} is deleted; its secret no longer signs anything.",
            endpoint_status=endpoint.status,
        )
    secret = _new_secret()
    if command.overlap_s is None:
        rotated = rotate(endpoint.secrets, secret, now=ctx.now)
    else:
        rotated = rotate(endpoint.secrets, secret, now=ctx.now, overlap_s=command.overlap_s)
    updated = replace(endpoint, secrets=rotated)
    tx.update_webhook_endpoint(updated)
    return ShownSecret(updated, secret)


# reads ----------------------------------------------------------------------------------------


def list_endpoints(
    dep: Deployment, ctx: Ctx, *, partner_id: str | None, page: Page
) -> list[WebhookEndpoint]:
    """The partner's enabled endpoints, newest first (``page.limit`` rows)."""
    require_role(ctx, *ADMIN_ROLES)
    scoped = scoped_partner(ctx, partner_id)

    def work(tx: Tx) -> list[WebhookEndpoint]:
        if tx.get_partner(scoped) is None:
            raise NotFound(f"No partner {scoped!r}.")
        return tx.list_webhook_endpoints(scoped, page)

    return dep.store.read(work)


def get_endpoint(
    dep: Deployment, ctx: Ctx, endpoint_id: str, partner_id: str | None = None
) -> WebhookEndpoint:
    return dep.store.read(lambda tx: owned(ctx, tx, endpoint_id, partner_id))

"""Webhook endpoints, their delivery log, and redelivering an event (API.md "webhook endpoints").

Partner admins manage their own partner's endpoints; operators any partner's (lists and
creation name the partner with ``?partner_id=``); ``partner_server`` keys get 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from zeropools.api.deps import Context, Dep, PageParams
from zeropools.api.openapi import problems
from zeropools.api.schemas import EventRedeliver, WebhookEndpointCreate, WebhookSecretRotate
from zeropools.domain import errors as e
from zeropools.representations import models
from zeropools.representations import objects as views
from zeropools.representations.objects import JSON
from zeropools.services import webhook_delivery, webhook_endpoints

router = APIRouter(tags=["webhooks"])

PartnerParam = Annotated[str | None, Query(description="operators: whose endpoints")]


@router.post(
    "/v1/webhook-endpoints",
    status_code=201,
    response_model=models.WebhookEndpointWithSecret,
    responses=problems(e.NotFound, body=True),
)
def create_endpoint(
    body: WebhookEndpointCreate, dep: Dep, ctx: Context, partner_id: PartnerParam = None
) -> JSON:
    """Register an endpoint; its signing secret is in this answer only."""
    shown = webhook_endpoints.create_endpoint(
        dep,
        ctx,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        partner_id=partner_id,
    )
    return views.webhook_endpoint(shown.endpoint, shown.secret)


@router.get(
    "/v1/webhook-endpoints",
    response_model=models.ListOf[models.WebhookEndpoint],
    responses=problems(e.NotFound),
)
def list_endpoints(
    dep: Dep, ctx: Context, page: PageParams, partner_id: PartnerParam = None
) -> JSON:
    """The partner's enabled webhook endpoints, newest first (never their secrets)."""
    found = webhook_endpoints.list_endpoints(dep, ctx, partner_id=partner_id, page=page)
    return views.page(found, page.size, views.webhook_endpoint)


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}",
    response_model=models.WebhookEndpoint,
    responses=problems(e.NotFound),
)
def get_endpoint(endpoint_id: str, dep: Dep, ctx: Context, partner_id: PartnerParam = None) -> JSON:
    """One webhook endpoint with its delivery cursor (never its secrets)."""
    return views.webhook_endpoint(webhook_endpoints.get_endpoint(dep, ctx, endpoint_id, partner_id))


@router.delete(
    "/v1/webhook-endpoints/{endpoint_id}",
    response_model=models.WebhookEndpoint,
    responses=problems(e.NotFound, e.InvalidTransition),
)
def delete_endpoint(
    endpoint_id: str, dep: Dep, ctx: Context, partner_id: PartnerParam = None
) -> JSON:
    """Stop deliveries to the endpoint; it and its delivery log stay readable."""
    return views.webhook_endpoint(
        webhook_endpoints.delete_endpoint(dep, ctx, endpoint_id, partner_id)
    )


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=models.WebhookEndpointWithSecret,
    responses=problems(e.NotFound, e.InvalidTransition, body=True),
)
def rotate_secret(
    endpoint_id: str,
    dep: Dep,
    ctx: Context,
    body: Annotated[WebhookSecretRotate | None, Body()] = None,
    partner_id: PartnerParam = None,
) -> JSON:
    """A new secret (shown now); the old one keeps signing for ``overlap_s`` (default 24 h)."""
    shown = webhook_endpoints.rotate_secret(
        dep,
        ctx,
        endpoint_id,
        overlap_s=(body or WebhookSecretRotate()).overlap_s,
        partner_id=partner_id,
    )
    return views.webhook_endpoint(shown.endpoint, shown.secret)


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=models.ListOf[models.WebhookDelivery],
    responses=problems(e.NotFound),
)
def list_deliveries(
    endpoint_id: str, dep: Dep, ctx: Context, page: PageParams, partner_id: PartnerParam = None
) -> JSON:
    """Every attempt, newest first: status, HTTP status code, latency, error."""
    found = webhook_delivery.list_deliveries(
        dep, ctx, endpoint_id, partner_id=partner_id, page=page
    )
    return views.page(found, page.size, views.webhook_delivery)


@router.post(
    "/v1/events/{event_id}/redeliver",
    status_code=202,
    response_model=models.RedeliveryRequest,
    responses=problems(e.NotFound, e.InvalidTransition, body=True),
)
def redeliver(
    event_id: str,
    dep: Dep,
    ctx: Context,
    body: Annotated[EventRedeliver | None, Body()] = None,
) -> JSON:
    """Send the event again: to ``endpoint_id``, or to every enabled endpoint that wants it."""
    endpoint_id = (body or EventRedeliver()).endpoint_id
    queued = webhook_delivery.redeliver(dep, ctx, event_id, endpoint_id)
    return views.redelivery_request(event_id, queued)

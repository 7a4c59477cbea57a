"""Events: the pull side of webhooks (API.md "events")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from zeropools.api.deps import Context, Dep
from zeropools.api.openapi import problems
from zeropools.domain import errors as e
from zeropools.domain import limits
from zeropools.domain.paging import Page
from zeropools.representations import models
from zeropools.representations.objects import event_list_bytes
from zeropools.services import events

router = APIRouter(tags=["events"])


@router.get(
    "/v1/events",
    response_model=None,
    responses={200: {"model": models.ListOf[models.Event]}, **problems(e.NotFound)},
)
def list_events(
    dep: Dep,
    ctx: Context,
    after_sequence: Annotated[
        int,
        Query(
            ge=0,
            le=limits.SEQUENCE_MAX,
            description="events with a greater sequence, oldest first",
        ),
    ] = 0,
    type: Annotated[
        str | None,
        Query(max_length=limits.ID_CHARS_MAX * 4, description="event types, comma-separated"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=limits.PAGE_SIZE_MAX)] = limits.PAGE_SIZE_DEFAULT,
    partner_id: Annotated[str | None, Query(description="operators: whose stream")] = None,
) -> Response:
    """A partner's events after ``after_sequence`` (gap-free per partner), as they were sent.

    Operators read a partner's stream with ``?partner_id=``, or the platform's without it.
    """
    found = events.list_events(
        dep,
        ctx,
        partner_id=partner_id,
        after_sequence=after_sequence,
        types=events.split_types(type),
        page=Page.of(limit),
    )
    page, has_more = Page.of(limit).split(found)
    body = event_list_bytes([e.body for e in page], has_more)
    return Response(body, media_type="application/json")


@router.get(
    "/v1/events/{event_id}",
    response_model=None,
    responses={200: {"model": models.Event}, **problems(e.NotFound)},
)
def get_event(event_id: str, dep: Dep, ctx: Context) -> Response:
    """One event exactly as it was delivered (the stored bytes); another partner's is a 404."""
    return Response(events.get_event(dep, ctx, event_id).body, media_type="application/json")

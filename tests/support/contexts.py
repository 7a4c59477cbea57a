"""Who is calling: service-layer contexts for each role, operator keys, Authorization headers."""

from __future__ import annotations

from datetime import UTC, datetime

from zeropools.domain import ids
from zeropools.domain.clock import utc_now
from zeropools.services import partners
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.services.partners import IssuedKey


def ctx_for(
    role: str = "operator", partner_id: str | None = None, now: datetime | None = None
) -> Ctx:
    """A context as the API builds it: a fresh request id, now, and the calling key."""
    return Ctx(
        request_id=ids.new_id(ids.REQUEST),
        now=now or datetime.now(UTC),
        actor=Actor(key_id=ids.new_id(ids.API_KEY), role=role, partner_id=partner_id),
    )


def issue_operator_key(dep: Deployment) -> IssuedKey:
    """An operator key issued the way ``zeropools init`` issues one (its id is ``zpk_...``)."""
    return partners.new_operator_key(dep, Ctx(request_id=ids.new_id(ids.REQUEST), now=utc_now()))


def bearer(secret: str) -> dict[str, str]:
    """Authorization headers for the API key ``secret``."""
    return {"Authorization": f"Bearer {secret}"}


def server_ctx(partner_id: str, now: datetime | None = None) -> Ctx:
    """A context of the partner's ``partner_server`` key."""
    return ctx_for("partner_server", partner_id, now)

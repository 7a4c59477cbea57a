"""Who is calling: an API key in, an ``Actor`` out, or ``Unauthenticated``."""

from __future__ import annotations

from zeropools.domain import ids, limits
from zeropools.domain.clock import from_rfc3339, utc_now
from zeropools.domain.errors import Unauthenticated
from zeropools.domain.partners import key_mode
from zeropools.services import dispatch
from zeropools.services.api_keys import find_key
from zeropools.services.commands import NoteKeyUse
from zeropools.services.context import Actor, Ctx, Deployment


def authenticate(dep: Deployment, authorization: str | None) -> Actor:
    if not authorization:
        raise Unauthenticated("Send 'Authorization: Bearer zpk_...'.")
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthenticated("Use the Bearer scheme: 'Authorization: Bearer zpk_...'.")
    mode = key_mode(secret)
    if mode is not None and mode != dep.mode:
        # the mode of a deployment is no secret (GET /healthz says it); saying so saves hours
        raise Unauthenticated(
            f"This is a {dep.mode} deployment: it accepts only zpk_{dep.mode}_ keys.",
            mode=dep.mode,
        )
    key = find_key(dep, secret)  # the keyed hash; a legacy row is upgraded on this use
    if key is None or key.revoked_at is not None or key.mode != dep.mode:
        raise Unauthenticated(f"Unknown or revoked API key for this {dep.mode} deployment.")
    actor = Actor(key_id=key.id, role=key.role, partner_id=key.partner_id)
    _note_use(dep, actor, key.last_used_at)
    return actor


def _note_use(dep: Deployment, actor: Actor, last_used_at: str | None) -> None:
    """Record ``last_used_at``, at most once per ``API_KEY_USE_RESOLUTION_S`` per key: a write on
    every request would double the cost of a read."""
    now = utc_now()
    if last_used_at is not None:
        age_s = (now - from_rfc3339(last_used_at)).total_seconds()
        if 0 <= age_s < limits.API_KEY_USE_RESOLUTION_S:
            return
    dispatch.apply(dep, Ctx(ids.new_id(ids.REQUEST), now, actor), NoteKeyUse(actor.key_id))

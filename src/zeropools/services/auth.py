"""Who is calling: an API key in, an ``Actor`` out, or ``Unauthenticated``.

Keys are remembered per process (``key_cache``): a request whose key is cached and whose
``last_used_at`` is recent enough is authenticated without touching the store, which is what
lets the API's hot path stay on the event loop (``authenticate_cached``); anything else reads
(and, at most once a minute per key, writes) through ``authenticate``.
"""

from __future__ import annotations

from zeropools.domain import ids, limits
from zeropools.domain.clock import from_rfc3339, to_rfc3339, utc_now
from zeropools.domain.errors import Unauthenticated
from zeropools.domain.partners import ApiKey, key_mode
from zeropools.services import dispatch
from zeropools.services.api_keys import find_key
from zeropools.services.commands import NoteKeyUse
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.services.key_cache import CachedKey


def _secret(dep: Deployment, authorization: str | None) -> str:
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
    return secret


def _actor(key: ApiKey) -> Actor:
    return Actor(key_id=key.id, role=key.role, partner_id=key.partner_id)


def _use_noted_recently(last_used_at: str | None) -> bool:
    if last_used_at is None:
        return False
    age_s = (utc_now() - from_rfc3339(last_used_at)).total_seconds()
    return 0 <= age_s < limits.API_KEY_USE_RESOLUTION_S


def authenticate_cached(dep: Deployment, authorization: str | None) -> Actor | None:
    """The caller from the cache alone, without I/O; None when ``authenticate`` must run (the
    key is not cached, or its use is due to be recorded). Raises for a malformed header."""
    entry = dep.key_cache.get(dep.key_hasher.digest(_secret(dep, authorization)))
    if entry is None or not _use_noted_recently(entry.last_used_at):
        return None
    return _actor(entry.key)


def authenticate(dep: Deployment, authorization: str | None) -> Actor:
    secret = _secret(dep, authorization)
    key_hash = dep.key_hasher.digest(secret)  # the cache never holds a secret
    entry = dep.key_cache.get(key_hash)
    if entry is None:
        generation, fetched_at = dep.key_cache.generation, dep.key_cache.now()
        key = find_key(dep, secret)  # the keyed hash; a legacy row is upgraded on this use
        if key is None or key.revoked_at is not None or key.mode != dep.mode:
            raise Unauthenticated(f"Unknown or revoked API key for this {dep.mode} deployment.")
        entry = dep.key_cache.put(key_hash, key, generation, fetched_at)
    actor = _actor(entry.key)
    _note_use(dep, actor, entry)
    return actor


def _note_use(dep: Deployment, actor: Actor, entry: CachedKey) -> None:
    """Record ``last_used_at``, at most once per ``API_KEY_USE_RESOLUTION_S`` per key: a write on
    every request would double the cost of a read."""
    if _use_noted_recently(entry.last_used_at):
        return
    now = utc_now()
    # claimed in the cache first, so the requests arriving meanwhile do not write it too
    entry.last_used_at = to_rfc3339(now)
    dispatch.apply(dep, Ctx(ids.new_id(ids.REQUEST), now, actor), NoteKeyUse(actor.key_id))

"""Who is calling: an API key in, an ``Actor`` out, or ``Unauthenticated``."""

from __future__ import annotations

from zeropools.domain.errors import Unauthenticated
from zeropools.domain.partners import hash_secret, key_mode
from zeropools.services.context import Actor, Deployment


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
    key = dep.store.read(lambda tx: tx.api_key_by_hash(hash_secret(secret)))
    if key is None or key.revoked_at is not None or key.mode != dep.mode:
        raise Unauthenticated(f"Unknown or revoked API key for this {dep.mode} deployment.")
    return Actor(key_id=key.id, role=key.role, partner_id=key.partner_id)

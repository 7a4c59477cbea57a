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
    if key_mode(secret) != dep.mode:
        # same answer as an unknown key: a wrong-mode key must not learn it is well formed
        raise Unauthenticated(f"Unknown or revoked API key for this {dep.mode} deployment.")
    key = dep.store.read(lambda tx: tx.api_key_by_hash(hash_secret(secret)))
    if key is None or key.revoked_at is not None or key.mode != dep.mode:
        raise Unauthenticated(f"Unknown or revoked API key for this {dep.mode} deployment.")
    return Actor(key_id=key.id, role=key.role, partner_id=key.partner_id)

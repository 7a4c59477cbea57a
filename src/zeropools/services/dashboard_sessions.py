"""Dashboard sign-in: an API key in, a session token out; the token back, the signed-in actor.

What and why: the dashboard is used in a browser, where an API key must not live in a script or
in storage a script can read. Signing in trades the key for a random session token held in an
HttpOnly cookie; the store keeps only the token's sha256 (``domain.sessions``). Every use checks
the session and its key again, so revoking the key ends its sessions at once.

Contract: ``sign_in`` refuses a partner server key (403 ``forbidden``) and an unknown or revoked
key (401 ``unauthenticated``); ``resolve`` answers the ``Actor`` of a live session or raises
``Unauthenticated``; ``sign_out`` ends a session (idempotent). Times come from ``now`` (the
caller reads the clock), so expiry is testable without sleeping.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from zeropools.domain import limits
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import Forbidden, Unauthenticated
from zeropools.domain.partners import hash_secret
from zeropools.domain.sessions import (
    SIGN_IN_ROLES,
    DashboardSession,
    absolute_end,
    csrf_matches,
    csrf_token,
    is_alive,
    needs_touch,
)
from zeropools.services.auth import authenticate
from zeropools.services.context import Actor, Deployment
from zeropools.store.protocol import Tx

_TOKEN_BYTES = 32  # 256 bits: nothing to brute-force, so a plain sha256 is the right hash
SESSION_EXPIRED = "Your session has ended; sign in again."


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie only; never stored
    actor: Actor
    csrf: str
    expires_at: datetime


def sign_in(dep: Deployment, api_key: str, now: datetime) -> SignedIn:
    secret = api_key.strip()
    if not secret:
        raise Unauthenticated("Paste an API key (zpk_...).")
    actor = authenticate(dep, f"Bearer {secret}")
    if actor.role not in SIGN_IN_ROLES:
        raise Forbidden(
            "A partner server key cannot sign in to the dashboard: use a partner admin key.",
            role=actor.role,
        )
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    at = to_rfc3339(now)
    ends = absolute_end(now)
    session = DashboardSession(
        token_hash=hash_secret(token),
        key_id=actor.key_id,
        created_at=at,
        last_seen_at=at,
        expires_at=to_rfc3339(ends),
    )
    idle_before = to_rfc3339(now - timedelta(seconds=limits.DASHBOARD_SESSION_IDLE_S))

    def write(tx: Tx) -> None:
        # sign-in is when the table is swept: it stays as small as the sessions in use
        tx.purge_dashboard_sessions(idle_before, at)
        tx.insert_dashboard_session(session)

    dep.store.write(write)
    return SignedIn(token=token, actor=actor, csrf=csrf_token(token), expires_at=ends)


def resolve(dep: Deployment, token: str | None, now: datetime) -> Actor:
    if not token:
        raise Unauthenticated("Sign in to use the dashboard.")
    token_hash = hash_secret(token)
    found = dep.store.read(lambda tx: tx.dashboard_session(token_hash))
    if found is None or not is_alive(found, now):
        raise Unauthenticated(SESSION_EXPIRED)
    if needs_touch(found.session, now):
        seen = to_rfc3339(now)
        dep.store.write(lambda tx: tx.touch_dashboard_session(token_hash, seen))
    return Actor(key_id=found.session.key_id, role=found.role, partner_id=found.partner_id)


def sign_out(dep: Deployment, token: str | None, now: datetime) -> None:
    if not token:
        return
    token_hash = hash_secret(token)
    ended = to_rfc3339(now)
    dep.store.write(lambda tx: tx.end_dashboard_session(token_hash, ended))


def check_csrf(token: str | None, sent: str | None) -> bool:
    """Whether a form carried the CSRF token of the session that posts it."""
    return token is not None and csrf_matches(token, sent)


def csrf_for(token: str) -> str:
    return csrf_token(token)

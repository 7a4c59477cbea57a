"""Dashboard sessions: when one is alive, and the CSRF token that goes with it.

A session is opened by signing in with an API key (partner admin or operator; a partner *server*
key is for machines and cannot sign in). It ends at the first of: sign-out, its API key revoked,
``DASHBOARD_SESSION_IDLE_S`` without a request, ``DASHBOARD_SESSION_ABSOLUTE_S`` after sign-in.

The CSRF token is derived from the session token (HMAC-SHA256 keyed by it): only whoever holds
the HttpOnly cookie can compute it, nothing more is stored, and it changes with every session.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from zeropools.domain import limits
from zeropools.domain.clock import from_rfc3339
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN

SIGN_IN_ROLES = (PARTNER_ADMIN, OPERATOR)
_CSRF_LABEL = b"zeropools dashboard csrf v1"


@dataclass(frozen=True)
class DashboardSession:
    """One stored session: ``token_hash`` is sha256 of the cookie's token (never the token)."""

    token_hash: str
    key_id: str
    created_at: str
    last_seen_at: str
    expires_at: str  # the absolute end, fixed at sign-in
    ended_at: str | None = None


@dataclass(frozen=True)
class SessionKey:
    """A session joined with the key it belongs to (what the lookup answers)."""

    session: DashboardSession
    role: str
    partner_id: str | None
    key_revoked_at: str | None


def absolute_end(created_at: datetime) -> datetime:
    return created_at + timedelta(seconds=limits.DASHBOARD_SESSION_ABSOLUTE_S)


def is_alive(found: SessionKey, now: datetime) -> bool:
    s = found.session
    if s.ended_at is not None or found.key_revoked_at is not None:
        return False
    if now >= from_rfc3339(s.expires_at):
        return False
    idle_s = (now - from_rfc3339(s.last_seen_at)).total_seconds()
    return idle_s < limits.DASHBOARD_SESSION_IDLE_S


def needs_touch(session: DashboardSession, now: datetime) -> bool:
    """``last_seen_at`` is written at most once per resolution: a write per page view would
    make every read a write transaction."""
    seen_s = (now - from_rfc3339(session.last_seen_at)).total_seconds()
    return seen_s >= limits.DASHBOARD_SESSION_TOUCH_RESOLUTION_S


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(session_token), str(sent))

"""Dashboard sessions and CSRF at the service layer, on SQLite and PostgreSQL.

Goal: signing in trades a partner admin or operator key (never a server key) for a session whose
token is stored only as a hash; a session ends on sign-out, when its key is revoked, after the
idle timeout and at its absolute end; the CSRF token belongs to its session.
Method: ``services.dashboard_sessions`` with explicit clock values (no sleeping) against a
deployment on each store; raw SQL through the store's transaction shows what is stored.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from support import ctx_for, issue_operator_key, onboard
from zeropools.domain import limits
from zeropools.domain.clock import utc_now
from zeropools.domain.errors import Forbidden, Unauthenticated
from zeropools.domain.partners import hash_secret
from zeropools.services import dashboard_sessions as sessions
from zeropools.services import partners
from zeropools.services.context import Deployment


def _admin_key(dep: Deployment) -> tuple[str, str, str]:
    """(partner id, admin key secret, admin key id) of a new partner."""
    new = onboard(dep)
    issued = partners.issue_api_key(dep, ctx_for("operator"), new.partner.id, "partner_admin")
    return new.partner.id, issued.secret, issued.key.id


def test_a_partner_admin_signs_in_and_only_the_token_hash_is_stored(dep: Deployment) -> None:
    partner_id, secret, key_id = _admin_key(dep)
    now = utc_now()

    signed = sessions.sign_in(dep, secret, now)
    actor = sessions.resolve(dep, signed.token, now)

    assert (actor.role, actor.partner_id, actor.key_id) == ("partner_admin", partner_id, key_id)
    stored = dep.store.read(lambda tx: tx._all("SELECT token_hash FROM dashboard_sessions"))  # type: ignore[attr-defined]
    assert [row["token_hash"] for row in stored] == [hash_secret(signed.token)]
    assert signed.token not in str(stored)


def test_an_operator_signs_in_with_no_partner(dep: Deployment) -> None:
    issued = issue_operator_key(dep)
    signed = sessions.sign_in(dep, issued.secret, utc_now())
    assert signed.actor.is_operator and signed.actor.partner_id is None


def test_a_partner_server_key_cannot_sign_in_and_leaves_no_session(dep: Deployment) -> None:
    new = onboard(dep)
    server = partners.issue_api_key(dep, ctx_for("operator"), new.partner.id, "partner_server")

    with pytest.raises(Forbidden):
        sessions.sign_in(dep, server.secret, utc_now())

    count = dep.store.read(lambda tx: tx._all("SELECT COUNT(*) AS n FROM dashboard_sessions"))  # type: ignore[attr-defined]
    assert count[0]["n"] == 0


@pytest.mark.parametrize("key", ["", "   ", "zpk_test_not_a_key", "zpk_live_wrong_mode"])
def test_an_unknown_or_empty_key_is_unauthenticated(dep: Deployment, key: str) -> None:
    with pytest.raises(Unauthenticated):
        sessions.sign_in(dep, key, utc_now())


def test_a_session_ends_after_the_idle_timeout_unless_used(dep: Deployment) -> None:
    _, secret, _ = _admin_key(dep)
    start = utc_now()
    idle = timedelta(seconds=limits.DASHBOARD_SESSION_IDLE_S)
    token = sessions.sign_in(dep, secret, start).token

    used_at = start + idle - timedelta(seconds=1)
    sessions.resolve(dep, token, used_at)  # still alive, and touched
    sessions.resolve(dep, token, used_at + idle - timedelta(seconds=1))  # alive: idle restarted

    with pytest.raises(Unauthenticated):
        sessions.resolve(dep, token, used_at + idle - timedelta(seconds=1) + idle)


def test_a_session_ends_at_its_absolute_end_however_busy(dep: Deployment) -> None:
    _, secret, _ = _admin_key(dep)
    start = utc_now()
    token = sessions.sign_in(dep, secret, start).token
    step = timedelta(seconds=limits.DASHBOARD_SESSION_IDLE_S - 60)
    moment = start
    end = start + timedelta(seconds=limits.DASHBOARD_SESSION_ABSOLUTE_S)
    while moment + step < end:
        moment += step
        sessions.resolve(dep, token, moment)

    with pytest.raises(Unauthenticated):
        sessions.resolve(dep, token, end)


def test_sign_out_ends_the_session_and_is_idempotent(dep: Deployment) -> None:
    _, secret, _ = _admin_key(dep)
    now = utc_now()
    token = sessions.sign_in(dep, secret, now).token

    sessions.sign_out(dep, token, now)
    sessions.sign_out(dep, token, now)

    with pytest.raises(Unauthenticated):
        sessions.resolve(dep, token, now)


def test_revoking_the_key_ends_its_sessions_at_once(dep: Deployment) -> None:
    _, secret, key_id = _admin_key(dep)
    now = utc_now()
    token = sessions.sign_in(dep, secret, now).token

    partners.revoke_api_key(dep, ctx_for("operator"), key_id)

    with pytest.raises(Unauthenticated):
        sessions.resolve(dep, token, now)


def test_a_tampered_or_unknown_token_is_unauthenticated(dep: Deployment) -> None:
    _, secret, _ = _admin_key(dep)
    now = utc_now()
    token = sessions.sign_in(dep, secret, now).token

    for wrong in (None, "", token[:-1], token + "x"):
        with pytest.raises(Unauthenticated):
            sessions.resolve(dep, wrong, now)


def test_the_csrf_token_is_its_sessions_only(dep: Deployment) -> None:
    _, secret, _ = _admin_key(dep)
    now = utc_now()
    first = sessions.sign_in(dep, secret, now)
    second = sessions.sign_in(dep, secret, now)

    assert sessions.check_csrf(first.token, first.csrf)
    assert first.csrf != second.csrf
    assert not sessions.check_csrf(first.token, second.csrf)
    assert not sessions.check_csrf(first.token, None)
    assert not sessions.check_csrf(first.token, "")
    assert not sessions.check_csrf(None, first.csrf)


def test_sign_in_sweeps_ended_and_expired_sessions(dep: Deployment) -> None:
    _, secret, _ = _admin_key(dep)
    start = utc_now()
    ended = sessions.sign_in(dep, secret, start).token
    sessions.sign_out(dep, ended, start)
    sessions.sign_in(dep, secret, start)  # goes idle
    later = start + timedelta(seconds=limits.DASHBOARD_SESSION_IDLE_S + 1)

    kept = sessions.sign_in(dep, secret, later)

    rows = dep.store.read(lambda tx: tx._all("SELECT token_hash FROM dashboard_sessions"))  # type: ignore[attr-defined]
    assert [row["token_hash"] for row in rows] == [hash_secret(kept.token)]

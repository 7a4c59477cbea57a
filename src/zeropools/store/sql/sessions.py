"""SQL of the dashboard sessions port: one row per session, keyed by its token's hash."""

from __future__ import annotations

from zeropools.domain.sessions import DashboardSession, SessionKey
from zeropools.store.ports import SessionsPort
from zeropools.store.protocol import first
from zeropools.store.sql.executor import Executor


class SqlSessions(SessionsPort):
    _ex: Executor

    def insert_dashboard_session(self, session: DashboardSession) -> None:
        self._ex.run(
            "INSERT INTO dashboard_sessions (token_hash, key_id, created_at, last_seen_at, "
            "expires_at, ended_at) VALUES (%s, %s, %s, %s, %s, %s)",
            (
                session.token_hash,
                session.key_id,
                session.created_at,
                session.last_seen_at,
                session.expires_at,
                session.ended_at,
            ),
        )

    def dashboard_session(self, token_hash: str) -> SessionKey | None:
        row = first(
            self._ex.all(
                "SELECT s.token_hash, s.key_id, s.created_at, s.last_seen_at, s.expires_at, "
                "s.ended_at, k.role, k.partner_id, k.revoked_at FROM dashboard_sessions s "
                "JOIN api_keys k ON k.id = s.key_id WHERE s.token_hash = %s",
                (token_hash,),
            )
        )
        if row is None:
            return None
        return SessionKey(
            session=DashboardSession(
                token_hash=row["token_hash"],
                key_id=row["key_id"],
                created_at=row["created_at"],
                last_seen_at=row["last_seen_at"],
                expires_at=row["expires_at"],
                ended_at=row["ended_at"],
            ),
            role=row["role"],
            partner_id=row["partner_id"],
            key_revoked_at=row["revoked_at"],
        )

    def touch_dashboard_session(self, token_hash: str, seen_at: str) -> None:
        self._ex.run(
            "UPDATE dashboard_sessions SET last_seen_at = %s "
            "WHERE token_hash = %s AND last_seen_at < %s",
            (seen_at, token_hash, seen_at),
        )

    def end_dashboard_session(self, token_hash: str, ended_at: str) -> None:
        self._ex.run(
            "UPDATE dashboard_sessions SET ended_at = %s "
            "WHERE token_hash = %s AND ended_at IS NULL",
            (ended_at, token_hash),
        )

    def purge_dashboard_sessions(self, idle_before: str, expired_before: str) -> int:
        return self._ex.run(
            "DELETE FROM dashboard_sessions WHERE ended_at IS NOT NULL "
            "OR last_seen_at < %s OR expires_at <= %s",
            (idle_before, expired_before),
        )

"""SQL of the webhooks port: endpoints (configuration and delivery state), the attempt log,
redeliveries.

Leasing is two statements in the caller's write transaction: a SELECT of due rows that skips
rows another transaction holds (``Dialect.skip_locked``), then an UPDATE writing the lease. On
PostgreSQL the SELECT locks what it returns until commit, and re-checks its WHERE clause against
a row changed meanwhile, so two workers never lease one endpoint; on SQLite the transaction
holds the database write lock (``BEGIN IMMEDIATE``) and the question does not arise.
Times are RFC 3339 text of one fixed width, so comparing them as text compares the times.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from zeropools.domain.clock import from_rfc3339, to_rfc3339
from zeropools.domain.deliveries import PENDING, DeliveryAttempt, Redelivery
from zeropools.domain.paging import Page
from zeropools.domain.webhook_endpoints import ENABLED, WebhookEndpoint
from zeropools.domain.webhooks import EndpointSecrets
from zeropools.store.ports import WebhooksPort
from zeropools.store.protocol import first
from zeropools.store.sql.executor import Executor, Row, marks

_ENDPOINT_COLUMNS = (
    "partner_id, id, url, description, event_types, status, secret, previous_secret, "
    "previous_expires_at, created_at, deleted_at, delivered_sequence, attempt, next_attempt_at, "
    "lease_owner, lease_expires_at"
)
_DELIVERY_COLUMNS = (
    "partner_id, endpoint_id, id, event_id, redelivery_id, attempt, status, status_code, "
    "latency_ms, error, attempted_at, next_attempt_at"
)
_EVENT_IDS_PER_QUERY = 500  # ids per IN (...) list
_REDELIVERY_COLUMNS = (
    "partner_id, id, endpoint_id, event_id, status, attempt, next_attempt_at, lease_owner, "
    "lease_expires_at, requested_at, request_id"
)
# due: its next attempt's time has come and nobody holds it (or its holder's lease ran out)
_DUE = "next_attempt_at <= %s AND (lease_expires_at IS NULL OR lease_expires_at <= %s)"
_HAS_EVENTS = (
    "EXISTS (SELECT 1 FROM events e "
    "WHERE e.stream = w.partner_id AND e.sequence > w.delivered_sequence)"
)


def _endpoint(row: Row) -> WebhookEndpoint:
    previous_expires_at = row["previous_expires_at"]
    return WebhookEndpoint(
        id=row["id"],
        partner_id=row["partner_id"],
        url=row["url"],
        description=row["description"],
        event_types=tuple(json.loads(row["event_types"])),
        status=row["status"],
        secrets=EndpointSecrets(
            row["secret"],
            row["previous_secret"],
            None if previous_expires_at is None else from_rfc3339(previous_expires_at),
        ),
        created_at=row["created_at"],
        deleted_at=row["deleted_at"],
        delivered_sequence=int(row["delivered_sequence"]),
        attempt=int(row["attempt"]),
        next_attempt_at=row["next_attempt_at"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
    )


def _secrets(secrets: EndpointSecrets) -> tuple[str, str | None, str | None]:
    expires = secrets.previous_expires_at
    return secrets.current, secrets.previous, None if expires is None else to_rfc3339(expires)


def _delivery(row: Row) -> DeliveryAttempt:
    return DeliveryAttempt(
        id=row["id"],
        partner_id=row["partner_id"],
        endpoint_id=row["endpoint_id"],
        event_id=row["event_id"],
        redelivery_id=row["redelivery_id"],
        attempt=int(row["attempt"]),
        status=row["status"],
        status_code=row["status_code"],
        latency_ms=row["latency_ms"],
        error=row["error"],
        attempted_at=row["attempted_at"],
        next_attempt_at=row["next_attempt_at"],
    )


def _redelivery(row: Row) -> Redelivery:
    return Redelivery(
        id=row["id"],
        partner_id=row["partner_id"],
        endpoint_id=row["endpoint_id"],
        event_id=row["event_id"],
        status=row["status"],
        attempt=int(row["attempt"]),
        next_attempt_at=row["next_attempt_at"],
        requested_at=row["requested_at"],
        request_id=row["request_id"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
    )


class SqlWebhooks(WebhooksPort):
    _ex: Executor

    # endpoints ----------------------------------------------------------------------------------
    def insert_webhook_endpoint(self, endpoint: WebhookEndpoint) -> None:
        e = endpoint
        self._ex.run(
            f"INSERT INTO webhook_endpoints ({_ENDPOINT_COLUMNS}) "
            f"VALUES ({marks(_ENDPOINT_COLUMNS.count(',') + 1)})",
            (
                e.partner_id,
                e.id,
                e.url,
                e.description,
                json.dumps(list(e.event_types)),
                e.status,
                *_secrets(e.secrets),
                e.created_at,
                e.deleted_at,
                e.delivered_sequence,
                e.attempt,
                e.next_attempt_at,
                e.lease_owner,
                e.lease_expires_at,
            ),
        )

    def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        row = first(
            self._ex.all(
                f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = %s", (endpoint_id,)
            )
        )
        return None if row is None else _endpoint(row)

    def list_webhook_endpoints(self, partner_id: str, page: Page) -> list[WebhookEndpoint]:
        where, params = "partner_id = %s AND status = %s", [partner_id, ENABLED]
        if page.starting_after:
            where += " AND id < %s"
            params.append(page.starting_after)
        rows = self._ex.all(
            f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE {where} "
            "ORDER BY id DESC LIMIT %s",
            (*params, page.limit),
        )
        return [_endpoint(row) for row in rows]

    def count_webhook_endpoints(self, partner_id: str) -> int:
        rows = self._ex.all(
            "SELECT count(*) AS n FROM webhook_endpoints WHERE partner_id = %s AND status = %s",
            (partner_id, ENABLED),
        )
        return int(rows[0]["n"])

    def update_webhook_endpoint(self, endpoint: WebhookEndpoint) -> None:
        changed = self._ex.run(
            "UPDATE webhook_endpoints SET status = %s, deleted_at = %s, secret = %s, "
            "previous_secret = %s, previous_expires_at = %s WHERE partner_id = %s AND id = %s",
            (
                endpoint.status,
                endpoint.deleted_at,
                *_secrets(endpoint.secrets),
                endpoint.partner_id,
                endpoint.id,
            ),
        )
        assert changed == 1, endpoint.id

    # leasing ------------------------------------------------------------------------------------
    def webhook_work_due(self, now: str) -> bool:
        rows = self._ex.all(
            f"SELECT 1 AS due FROM webhook_endpoints w WHERE status = %s AND {_DUE} "
            f"AND {_HAS_EVENTS} "
            "UNION ALL "
            f"SELECT 1 AS due FROM webhook_redeliveries WHERE status = %s AND {_DUE} "
            "LIMIT 1",
            (ENABLED, now, now, PENDING, now, now),
        )
        return bool(rows)

    def lease_webhook_endpoints(
        self, now: str, owner: str, lease_expires_at: str, limit: int
    ) -> list[WebhookEndpoint]:
        rows = self._lease(
            "webhook_endpoints",
            _ENDPOINT_COLUMNS,
            f"status = %s AND {_DUE} AND {_HAS_EVENTS}",
            (ENABLED, now, now),
            owner,
            lease_expires_at,
            limit,
        )
        return [_endpoint(row) for row in rows]

    def _lease(
        self,
        table: str,
        columns: str,
        where: str,
        params: tuple[Any, ...],
        owner: str,
        lease_expires_at: str,
        limit: int,
    ) -> list[Row]:
        """Claim up to ``limit`` due rows of ``table`` (aliased ``w``) for ``owner``; rows
        another worker holds locked are skipped where the database can (``skip_locked``)."""
        rows = self._ex.all(
            f"SELECT {columns} FROM {table} w WHERE {where} "
            f"ORDER BY next_attempt_at LIMIT %s {self._ex.dialect.skip_locked}",
            (*params, limit),
        )
        self._ex.many(
            f"UPDATE {table} SET lease_owner = %s, lease_expires_at = %s "
            "WHERE partner_id = %s AND id = %s",
            [(owner, lease_expires_at, row["partner_id"], row["id"]) for row in rows],
        )
        return [{**row, "lease_owner": owner, "lease_expires_at": lease_expires_at} for row in rows]

    def release_webhook_endpoint(
        self,
        endpoint_id: str,
        owner: str,
        *,
        delivered_sequence: int,
        attempt: int,
        next_attempt_at: str,
    ) -> bool:
        changed = self._ex.run(
            "UPDATE webhook_endpoints SET delivered_sequence = %s, attempt = %s, "
            "next_attempt_at = %s, lease_owner = NULL, lease_expires_at = NULL "
            "WHERE id = %s AND lease_owner = %s",
            (delivered_sequence, attempt, next_attempt_at, endpoint_id, owner),
        )
        return changed == 1

    # the attempt log ----------------------------------------------------------------------------
    def insert_webhook_delivery(self, attempt: DeliveryAttempt) -> None:
        a = attempt
        self._ex.run(
            f"INSERT INTO webhook_deliveries ({_DELIVERY_COLUMNS}) "
            f"VALUES ({marks(_DELIVERY_COLUMNS.count(',') + 1)})",
            (
                a.partner_id,
                a.endpoint_id,
                a.id,
                a.event_id,
                a.redelivery_id,
                a.attempt,
                a.status,
                a.status_code,
                a.latency_ms,
                a.error,
                a.attempted_at,
                a.next_attempt_at,
            ),
        )

    def list_webhook_deliveries(
        self, partner_id: str, endpoint_id: str, page: Page
    ) -> list[DeliveryAttempt]:
        where, params = "partner_id = %s AND endpoint_id = %s", [partner_id, endpoint_id]
        if page.starting_after:
            where += " AND id < %s"
            params.append(page.starting_after)
        rows = self._ex.all(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {where} "
            "ORDER BY id DESC LIMIT %s",
            (*params, page.limit),
        )
        return [_delivery(row) for row in rows]

    def webhook_deliveries_of_events(
        self, partner_id: str, event_ids: Sequence[str], limit: int
    ) -> list[DeliveryAttempt]:
        found: list[DeliveryAttempt] = []
        for start in range(0, len(event_ids), _EVENT_IDS_PER_QUERY):
            chunk = list(event_ids[start : start + _EVENT_IDS_PER_QUERY])
            rows = self._ex.all(
                f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries "
                f"WHERE partner_id = %s AND event_id IN ({marks(len(chunk))}) "
                "ORDER BY attempted_at, id LIMIT %s",
                (partner_id, *chunk, limit),
            )
            found += map(_delivery, rows)
        return sorted(found, key=lambda d: (d.attempted_at, d.id))[:limit]

    # redeliveries -------------------------------------------------------------------------------
    def insert_webhook_redeliveries(self, redeliveries: Sequence[Redelivery]) -> None:
        self._ex.many(
            f"INSERT INTO webhook_redeliveries ({_REDELIVERY_COLUMNS}) "
            f"VALUES ({marks(_REDELIVERY_COLUMNS.count(',') + 1)})",
            [_redelivery_params(r) for r in redeliveries],
        )

    def lease_webhook_redeliveries(
        self, now: str, owner: str, lease_expires_at: str, limit: int
    ) -> list[Redelivery]:
        rows = self._lease(
            "webhook_redeliveries",
            _REDELIVERY_COLUMNS,
            f"status = %s AND {_DUE}",
            (PENDING, now, now),
            owner,
            lease_expires_at,
            limit,
        )
        return [_redelivery(row) for row in rows]

    def release_webhook_redelivery(
        self,
        redelivery_id: str,
        owner: str,
        *,
        status: str,
        attempt: int,
        next_attempt_at: str,
    ) -> bool:
        changed = self._ex.run(
            "UPDATE webhook_redeliveries SET status = %s, attempt = %s, next_attempt_at = %s, "
            "lease_owner = NULL, lease_expires_at = NULL WHERE id = %s AND lease_owner = %s",
            (status, attempt, next_attempt_at, redelivery_id, owner),
        )
        return changed == 1

    def cancel_webhook_redeliveries(self, endpoint_id: str) -> int:
        return self._ex.run(
            "UPDATE webhook_redeliveries SET status = 'canceled' "
            "WHERE endpoint_id = %s AND status = %s",
            (endpoint_id, PENDING),
        )


def _redelivery_params(r: Redelivery) -> tuple[Any, ...]:
    return (
        r.partner_id,
        r.id,
        r.endpoint_id,
        r.event_id,
        r.status,
        r.attempt,
        r.next_attempt_at,
        r.lease_owner,
        r.lease_expires_at,
        r.requested_at,
        r.request_id,
    )

"""SQL of the idempotency port: a key is claimed with its request's effect and completed with
the response, in the same transaction (so a claim never outlives a crash without its answer)."""

from __future__ import annotations

from zeropools.store.ports import Claim, ClaimLost, IdempotencyPort, IdempotencyRecord
from zeropools.store.sql.executor import Executor, Row, marks

_COLUMNS = (
    "scope, key, fingerprint, request_id, status_code, response_body, created_at, completed_at"
)


def idempotency_from_row(row: Row) -> IdempotencyRecord:
    body = row["response_body"]
    return IdempotencyRecord(
        scope=row["scope"],
        key=row["key"],
        fingerprint=row["fingerprint"],
        request_id=row["request_id"],
        status_code=None if row["status_code"] is None else int(row["status_code"]),
        response_body=None if body is None else bytes(body),
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )


class SqlIdempotency(IdempotencyPort):
    _ex: Executor
    _claim: Claim | None  # the last claim, until it is won or released

    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None:
        rows = self._ex.all(
            f"SELECT {_COLUMNS} FROM idempotency_keys WHERE scope = %s AND key = %s", (scope, key)
        )
        return idempotency_from_row(rows[0]) if rows else None

    def insert_idempotency(self, record: IdempotencyRecord) -> None:
        self._ex.run(
            f"INSERT INTO idempotency_keys ({_COLUMNS}) VALUES ({marks(8)})", _params(record)
        )

    def claim_idempotency(self, record: IdempotencyRecord) -> Claim:
        self._claim = None  # the one before is the caller's to have released
        claim = Claim(self._ex.flush)
        self._ex.send(
            f"INSERT INTO idempotency_keys ({_COLUMNS}) VALUES ({marks(8)}) "
            "ON CONFLICT (scope, key) DO NOTHING RETURNING 1",
            _params(record),
            check=lambda row: claim.decided(row is not None),
        )
        self._claim = claim
        return claim

    def _hold_writes_for_claim(self) -> None:
        """Before any write: decide the pending claim (sending it, with whatever is held
        back), and write nothing for a claim that lost (``Claim``)."""
        claim = self._claim
        if claim is None:
            return
        if claim.released or claim.won():
            self._claim = None
            return
        raise ClaimLost("the idempotency key was there already; nothing is written")

    def complete_idempotency(
        self, scope: str, key: str, status_code: int, body: bytes, completed_at: str
    ) -> None:
        self._ex.send(
            "UPDATE idempotency_keys SET status_code = %s, response_body = %s, "
            "completed_at = %s "
            "WHERE scope = %s AND key = %s AND completed_at IS NULL",
            (status_code, body, completed_at, scope, key),
        )

    def release_idempotency(self, scope: str, key: str) -> None:
        self._ex.run(
            "DELETE FROM idempotency_keys WHERE scope = %s AND key = %s AND completed_at IS NULL",
            (scope, key),
        )


def _params(record: IdempotencyRecord) -> tuple[object, ...]:
    return (
        record.scope,
        record.key,
        record.fingerprint,
        record.request_id,
        record.status_code,
        record.response_body,
        record.created_at,
        record.completed_at,
    )

"""Idempotency keys: a repeat replays the first response byte for byte, refusals included.

Three transactions at most, and never a double effect:

1. *claim*: record the key as in flight (or answer: replay, ``idempotency_key_reused``,
   ``idempotency_key_in_use``). A concurrent claim of the same key loses on the primary key.
2. *work*: the use case and the stored response commit together, so a crash can never leave an
   effect without its response (which would let a retry apply it twice).
3. *refusal*: a ``DomainError`` rolls the work back; its problem document is then stored as the
   key's response, so a key refused for ``insufficient_balance`` stays refused.

An unexpected error releases the key (nothing was committed; the client may retry). A key left
in flight by a crashed process is taken over after ``IDEMPOTENCY_LOCK_S``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from zeropools.domain import limits
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import (
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
)
from zeropools.domain.ledger import canonical_json
from zeropools.services.context import Ctx, Deployment
from zeropools.store.protocol import Tx
from zeropools.store.trading_sql import IdempotencyRecord

T = TypeVar("T")
Rendered = tuple[int, bytes]


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    request_id: str
    replayed: bool


def check_key(key: str | None) -> str:
    if key is None or key == "":
        raise IdempotencyKeyRequired(
            "Send an Idempotency-Key header (1 to 255 printable characters) with this request; "
            "reuse it when you retry."
        )
    if len(key) > limits.IDEMPOTENCY_KEY_CHARS_MAX or not all(" " < ch <= "~" for ch in key):
        raise IdempotencyKeyRequired(
            "The Idempotency-Key must be 1 to 255 printable ASCII characters without spaces."
        )
    return key


def fingerprint(method: str, path: str, body: Mapping[str, Any]) -> str:
    return canonical_json({"method": method, "path": path, "body": dict(body)})


def _differences(old: str, new: str) -> list[str]:
    before, after = json.loads(old), json.loads(new)
    found = [name for name in ("method", "path") if before[name] != after[name]]
    keys = set(before["body"]) | set(after["body"])
    found += sorted(k for k in keys if before["body"].get(k) != after["body"].get(k))
    return found


def _claim(ctx: Ctx, scope: str, key: str, print_: str) -> Callable[[Tx], StoredResponse | None]:
    def work(tx: Tx) -> StoredResponse | None:
        now = to_rfc3339(ctx.now)
        lease = to_rfc3339(ctx.now + timedelta(seconds=limits.IDEMPOTENCY_LOCK_S))
        known = tx.get_idempotency(scope, key)
        if known is None:
            tx.insert_idempotency(
                IdempotencyRecord(scope, key, print_, ctx.request_id, lease, None, None, now, None)
            )
            return None
        if known.fingerprint != print_:
            differences = _differences(known.fingerprint, print_)
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was first used for a different request "
                f"(differs in: {', '.join(differences)}).",
                differences=differences,
            )
        if known.completed_at is not None:
            assert known.status_code is not None and known.response_body is not None
            return StoredResponse(known.status_code, known.response_body, known.request_id, True)
        if known.locked_until is not None and known.locked_until > now:
            raise IdempotencyKeyInUse(
                f"A request with Idempotency-Key {key!r} is still being processed; retry shortly."
            )
        tx.relock_idempotency(scope, key, ctx.request_id, lease)  # abandoned: take it over
        return None

    return work


def run(
    dep: Deployment,
    ctx: Ctx,
    *,
    scope: str,
    key: str,
    request_print: str,
    work: Callable[[Tx], T],
    render: Callable[[T], Rendered],
    render_error: Callable[[DomainError], Rendered],
    on_refusal: Callable[[Tx, DomainError], None] | None = None,
) -> StoredResponse:
    replay = dep.store.write(_claim(ctx, scope, key, request_print))
    if replay is not None:
        return replay
    completed_at = to_rfc3339(ctx.now)

    def effect(tx: Tx) -> Rendered:
        status, body = render(work(tx))
        tx.complete_idempotency(scope, key, status, body, completed_at)
        return status, body

    try:
        status, body = dep.store.write(effect)
    except DomainError as refusal:
        status, body = render_error(refusal)

        def refuse(tx: Tx, error: DomainError = refusal) -> None:
            if on_refusal is not None:
                on_refusal(tx, error)
            tx.complete_idempotency(scope, key, status, body, completed_at)

        try:
            dep.store.write(refuse)
        except BaseException:
            dep.store.write(lambda tx: tx.release_idempotency(scope, key))
            raise
    except BaseException:
        dep.store.write(lambda tx: tx.release_idempotency(scope, key))
        raise
    return StoredResponse(status, body, ctx.request_id, False)

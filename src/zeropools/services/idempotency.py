"""Idempotency keys: a repeat replays the first response byte for byte, refusals included.

One transaction per request, never a double effect: the key is claimed (or answered: replay,
``idempotency_key_reused``, ``idempotency_key_in_use``), the use case runs in a savepoint, and
its response, or the problem document of its refusal, is stored with it. So a key refused for
``insufficient_balance`` stays refused, and a crash leaves either everything or nothing.

A refusal of input validation (``DomainError.input_validation``: ``amount_invalid``,
``validation_error``, ...) is the exception: the request was never a valid instance of its
operation, so, as Stripe and the IETF Idempotency-Key draft do, nothing is stored for it. The
claim is undone and the corrected request may reuse the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from zeropools.domain import limits
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import (
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyInvalid,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
)
from zeropools.domain.ledger import canonical_json
from zeropools.services.context import Ctx
from zeropools.store.protocol import Claim, ClaimLost, IdempotencyRecord, Tx

T = TypeVar("T")
Rendered = tuple[int, bytes]


@dataclass(frozen=True)
class StoredResponse:
    """The answer to send. ``stored`` is False for an input-validation refusal, which the key
    does not keep (a repeat runs again); ``replayed`` when it comes from an earlier request."""

    status: int
    body: bytes
    request_id: str
    replayed: bool
    stored: bool = True


def check_key(key: str | None) -> str:
    """The key as sent, or why not: missing (``idempotency_key_required``) or malformed
    (``idempotency_key_invalid``, with its length, so a truncation bug shows itself)."""
    if key is None or key == "":
        raise IdempotencyKeyRequired(
            "Send an Idempotency-Key header (1 to 255 printable characters) with this request; "
            "reuse it when you retry."
        )
    if len(key) > limits.IDEMPOTENCY_KEY_CHARS_MAX or not all(" " < ch <= "~" for ch in key):
        raise IdempotencyKeyInvalid(
            f"The Idempotency-Key must be 1 to {limits.IDEMPOTENCY_KEY_CHARS_MAX} printable "
            f"ASCII characters without spaces; this one has {len(key)} characters"
            + ("." if len(key) > limits.IDEMPOTENCY_KEY_CHARS_MAX else ", not all printable."),
            length=len(key),
            length_max=limits.IDEMPOTENCY_KEY_CHARS_MAX,
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


def _answer_known(tx: Tx, claim: Claim, scope: str, key: str, print_: str) -> StoredResponse:
    """The answer for a key that was there already: replay, reused, in use."""
    claim.release()  # answered from the key: the batch's next commands write again
    known = tx.get_idempotency(scope, key)
    assert known is not None, f"idempotency key {key!r} neither claimed nor found"
    if known.fingerprint != print_:
        differences = _differences(known.fingerprint, print_)
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was first used for a different request "
            f"(differs in: {', '.join(differences)}).",
            differences=differences,
        )
    if known.completed_at is None:
        # claim and response commit together, so a committed claim is always complete; kept
        # for rows written any other way (a hand-made repair) rather than guess their outcome
        raise IdempotencyKeyInUse(
            f"A request with Idempotency-Key {key!r} is still being processed; retry shortly."
        )
    assert known.status_code is not None and known.response_body is not None
    return StoredResponse(known.status_code, known.response_body, known.request_id, True)


def run_in(
    tx: Tx,
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
    """Claim, effect and stored response in the caller's one transaction.

    The effect runs in a savepoint: a ``DomainError`` undoes exactly its writes, and the
    refusal is stored as the key's response in the same commit. A concurrent request with the
    same key waits on the key's unique index and then replays; an unexpected error rolls
    everything back, claim included, so the key stays free.

    An input-validation refusal undoes the claim too (``release_idempotency``) and is answered
    without being stored; ``on_refusal`` still records it, so support sees the attempt.
    """
    # The claim (``INSERT ... ON CONFLICT DO NOTHING``: a new key, the common case, costs one
    # statement) rides with the work's first read: on PostgreSQL an execution's key costs no
    # round trip of its own. Until it is decided the store writes nothing, and for a key that
    # was there it writes nothing at all (``ClaimLost``): the work's reads are all it did.
    # No savepoint around the claim: whatever raises out of here has written nothing (a
    # refused claim inserts no row) or fails the whole transaction (an unexpected error), and
    # the one refusal that must undo a claim undoes it with a statement. A savepoint cost two
    # round trips per request on PostgreSQL.
    now = to_rfc3339(ctx.now)
    record = IdempotencyRecord(scope, key, request_print, ctx.request_id, None, None, now, None)
    claim = tx.claim_idempotency(record)
    try:
        with tx.savepoint():
            done = work(tx)
            if not claim.won():
                raise ClaimLost("the key was there already")
            status, body = render(done)
    except ClaimLost:
        return _answer_known(tx, claim, scope, key, request_print)
    except DomainError as business:
        if not claim.won():  # refused before its key was even decided: answer the key
            return _answer_known(tx, claim, scope, key, request_print)
        if business.input_validation:
            tx.release_idempotency(scope, key)  # the effect is undone; the claim goes too
            if on_refusal is not None:
                on_refusal(tx, business)
            status, body = render_error(business)
            return StoredResponse(status, body, ctx.request_id, replayed=False, stored=False)
        status, body = render_error(business)
        if on_refusal is not None:
            on_refusal(tx, business)
    tx.complete_idempotency(scope, key, status, body, now)
    return StoredResponse(status, body, ctx.request_id, False)

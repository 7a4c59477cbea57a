"""Verify a webhook delivery (Standard Webhooks, https://www.standardwebhooks.com) before acting
on it.

The sender signs ``f"{webhook-id}.{webhook-timestamp}.{body}"`` with HMAC-SHA256 under the
endpoint's secret (``whsec_`` + base64 of the key) and sends ``webhook-signature: v1,<base64>``;
during a secret rotation it sends two signatures, space-separated, and either may match. The
timestamp is signed too, and a delivery older (or newer) than the tolerance is refused, so a
captured request cannot be replayed later. Deliveries are at-least-once: ``webhook-id`` (the
event id) stays the same on every retry, so deduplicate on it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from zeropools.client._http import loads
from zeropools.client.errors import WebhookVerificationError

WEBHOOK_TOLERANCE_S = 300  # a delivery's timestamp may be this far from now, either way
SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"  # HMAC-SHA256; other versions (v1a: asymmetric) are skipped
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"

__all__ = ["WEBHOOK_TOLERANCE_S", "WebhookVerificationError", "sign_webhook", "verify_webhook"]


@runtime_checkable
class HeaderItems(Protocol):
    """Anything with ``items()`` of header pairs: a dict, Starlette's or httpx's ``Headers``,
    Werkzeug's (Flask) ``EnvironHeaders``."""

    def items(self) -> Iterable[tuple[str, str]]: ...


Headers = HeaderItems | Iterable[tuple[str, str]]


def signing_key(secret: str | bytes) -> bytes:
    """The HMAC key of an endpoint secret: base64-decoded after the ``whsec_`` prefix (which
    is optional, as in the reference libraries); raw bytes are the key itself.

    A malformed or empty secret is a configuration error (ValueError), not a bad delivery.
    """
    if isinstance(secret, bytes):
        key = secret
    else:
        text = secret.removeprefix(SECRET_PREFIX)
        padded = text + "=" * (-len(text) % 4)  # tolerate unpadded base64, as the libraries do
        try:
            key = base64.b64decode(padded, validate=True)
        except binascii.Error as exc:
            raise ValueError("webhook secret: not whsec_ + base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign_webhook(secret: str | bytes, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for a delivery; for tests and for
    checking a receiver end to end."""
    raw = body.encode() if isinstance(body, str) else body
    digest = _signature(signing_key(secret), msg_id, str(timestamp), raw)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def _header_values(headers: Headers) -> dict[str, list[str]]:
    pairs = headers.items() if isinstance(headers, HeaderItems) else headers
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        found.setdefault(name.lower(), []).append(value)
    return found


def _one(found: dict[str, list[str]], name: str) -> str:
    values = found.get(name, [])
    if len(values) != 1 or not values[0].strip():
        raise WebhookVerificationError(f"header {name} missing, empty or repeated")
    return values[0].strip()


def _candidates(values: list[str]) -> list[bytes]:
    """The decoded ``v1`` signatures of the header (several when a rotation is under way)."""
    signatures = []
    for token in " ".join(values).split():
        version, _, encoded = token.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            signatures.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            continue  # one malformed entry does not spoil the others
    return signatures


def verify_webhook(
    secret: str | bytes,
    headers: Headers,
    body: bytes | str,
    *,
    tolerance_s: float = WEBHOOK_TOLERANCE_S,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The event of a verified delivery, or WebhookVerificationError.

    ``headers`` are the request's (names case-insensitive); ``body`` is the raw request body
    exactly as received (verify before parsing: re-serialised JSON does not match). The event
    is parsed without floats (numbers become Decimal or int). ``now`` (aware) is for tests.

    Raises WebhookVerificationError when a header is missing or malformed, the timestamp is
    more than ``tolerance_s`` from ``now``, no ``v1`` signature matches, or the body is not a
    JSON object; ValueError when ``secret`` itself is malformed.
    """
    key = signing_key(secret)
    found = _header_values(headers)
    msg_id = _one(found, HEADER_ID)
    timestamp = _one(found, HEADER_TIMESTAMP)
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise WebhookVerificationError(f"header {HEADER_TIMESTAMP} is not integer seconds")
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    age_s = moment.timestamp() - int(timestamp)
    if age_s > tolerance_s:
        raise WebhookVerificationError(f"timestamp too old ({age_s:.0f} s)")
    if age_s < -tolerance_s:
        raise WebhookVerificationError(f"timestamp in the future ({-age_s:.0f} s)")

    given = _candidates(found.get(HEADER_SIGNATURE, []))
    if not given:
        raise WebhookVerificationError(f"header {HEADER_SIGNATURE} has no v1 signature")
    raw = body.encode() if isinstance(body, str) else body
    expected = _signature(key, msg_id, timestamp, raw)
    # every candidate is compared in constant time; which one matched does not matter
    if not any([hmac.compare_digest(expected, signature) for signature in given]):
        raise WebhookVerificationError("no matching v1 signature")

    try:
        event = loads(raw)
    except ValueError as exc:
        raise WebhookVerificationError("signed body is not JSON") from exc
    if not isinstance(event, dict):
        raise WebhookVerificationError("signed body is not a JSON object")
    return event

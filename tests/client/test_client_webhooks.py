"""``verify_webhook`` agrees with the independent Standard Webhooks library.

Goal: a delivery signed by ``standardwebhooks.Webhook(secret).sign(...)`` (the reference Python
library, from PyPI) verifies with ours and returns the event parsed without floats; a tampered
body, a wrong secret, a timestamp outside the tolerance (either way), a missing or malformed
header fail with ``WebhookVerificationError``; during a secret rotation a header with two
signatures passes when either matches; header names are case-insensitive; the published
test vector of the specification reproduces exactly.

Method: sign with ``standardwebhooks`` (and, for the test vector, compare against the constant
its own test suite and the specification publish), verify with ``zeropools.client``; ``now``
is passed in, so no test depends on the clock.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import standardwebhooks

from zeropools.client import (
    WEBHOOK_TOLERANCE_S,
    Event,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)

NOW = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
MSG_ID = "evt_0001"
EVENT = {
    "id": MSG_ID,
    "object": "event",
    "type": "trade.debited",
    "sequence": 7,
    "created_at": "2026-11-23T09:15:00.000000Z",
    "request_id": "req_1",
    "data": {"object": {"id": "pt_test_1", "object": "trade", "source_amount": "100.00"}},
}
BODY = json.dumps(EVENT)

# The published vector: standard-webhooks' own test suite (libraries/python/tests,
# test_sign_function) and the specification's examples use these values.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signed_headers(
    secret: str, body: str = BODY, at: datetime = NOW, msg_id: str = MSG_ID
) -> dict[str, str]:
    """The three headers of a delivery, signed by the reference library."""
    signature = standardwebhooks.Webhook(secret).sign(msg_id, at, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def test_a_delivery_signed_by_the_reference_library_verifies_and_returns_the_event() -> None:
    secret = new_secret()
    event = verify_webhook(secret, signed_headers(secret), BODY, now=NOW)
    assert event == EVENT
    parsed = Event.from_json(event)
    assert parsed.type == "trade.debited" and parsed.sequence == 7
    assert parsed.object["source_amount"] == "100.00"


def test_bytes_bodies_and_any_header_case_verify_too() -> None:
    secret = new_secret()
    headers = {name.upper(): value for name, value in signed_headers(secret).items()}
    assert verify_webhook(secret, headers, BODY.encode(), now=NOW)["id"] == MSG_ID
    as_pairs = [(name.title(), value) for name, value in signed_headers(secret).items()]
    assert verify_webhook(secret, as_pairs, BODY, now=NOW)["id"] == MSG_ID


def test_numbers_in_a_verified_event_are_never_floats() -> None:
    secret = new_secret()
    body = '{"id": "evt_1", "amount": 12.30, "count": 2}'
    event = verify_webhook(secret, signed_headers(secret, body), body, now=NOW)
    assert event["amount"] == Decimal("12.30") and type(event["amount"]) is Decimal
    assert type(event["count"]) is int


def test_our_signature_is_accepted_by_the_reference_library() -> None:
    secret = new_secret()
    timestamp = int(datetime.now(UTC).timestamp())  # the library reads the real clock
    headers = {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(secret, MSG_ID, timestamp, BODY),
    }
    assert standardwebhooks.Webhook(secret).verify(BODY, headers) == EVENT


def test_the_published_test_vector_reproduces_exactly() -> None:
    assert sign_webhook(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    at = datetime.fromtimestamp(VECTOR_TIMESTAMP, UTC)
    assert verify_webhook(VECTOR_SECRET, headers, VECTOR_BODY, now=at) == {"test": 2432232314}
    # the prefix is optional, as in the reference libraries
    assert verify_webhook(VECTOR_SECRET.removeprefix("whsec_"), headers, VECTOR_BODY, now=at)


def test_a_tampered_body_fails() -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    tampered = BODY.replace("100.00", "900.00")
    with pytest.raises(WebhookVerificationError, match="no matching"):
        verify_webhook(secret, headers, tampered, now=NOW)


def test_a_wrong_secret_fails() -> None:
    headers = signed_headers(new_secret())
    with pytest.raises(WebhookVerificationError, match="no matching"):
        verify_webhook(new_secret(), headers, BODY, now=NOW)


def test_a_changed_id_or_timestamp_fails_since_both_are_signed() -> None:
    secret = new_secret()
    other_id = {**signed_headers(secret), "webhook-id": "evt_0002"}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, other_id, BODY, now=NOW)
    moved = str(int(NOW.timestamp()) + 1)
    other_time = {**signed_headers(secret), "webhook-timestamp": moved}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, other_time, BODY, now=NOW)


def test_a_timestamp_older_than_the_tolerance_fails_and_one_just_inside_passes() -> None:
    secret = new_secret()
    old = NOW - timedelta(seconds=WEBHOOK_TOLERANCE_S + 1)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(secret, signed_headers(secret, at=old), BODY, now=NOW)
    edge = NOW - timedelta(seconds=WEBHOOK_TOLERANCE_S)
    assert verify_webhook(secret, signed_headers(secret, at=edge), BODY, now=NOW)


def test_a_timestamp_in_the_future_beyond_the_tolerance_fails() -> None:
    secret = new_secret()
    ahead = NOW + timedelta(seconds=WEBHOOK_TOLERANCE_S + 1)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify_webhook(secret, signed_headers(secret, at=ahead), BODY, now=NOW)


def test_the_tolerance_is_a_parameter() -> None:
    secret = new_secret()
    headers = signed_headers(secret, at=NOW - timedelta(seconds=30))
    assert verify_webhook(secret, headers, BODY, now=NOW, tolerance_s=60)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, BODY, now=NOW, tolerance_s=10)


def test_during_a_rotation_two_signatures_pass_when_only_the_second_matches() -> None:
    old_secret, new = new_secret(), new_secret()
    old_signature = signed_headers(old_secret)["webhook-signature"]
    headers = signed_headers(new)
    headers["webhook-signature"] = f"{old_signature} {headers['webhook-signature']}"
    # a receiver that already holds the new secret: only the second signature matches
    assert verify_webhook(new, headers, BODY, now=NOW) == EVENT
    # one that still holds the old secret: the first one does
    assert verify_webhook(old_secret, headers, BODY, now=NOW) == EVENT
    with pytest.raises(WebhookVerificationError):
        verify_webhook(new_secret(), headers, BODY, now=NOW)


def test_unknown_versions_and_malformed_signatures_are_skipped_not_fatal() -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    headers["webhook-signature"] = f"v1a,abc v1,!!notbase64 {headers['webhook-signature']}"
    assert verify_webhook(secret, headers, BODY, now=NOW) == EVENT
    headers["webhook-signature"] = "v2," + headers["webhook-signature"].split(",", 3)[-1]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, BODY, now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_fails(missing: str) -> None:
    secret = new_secret()
    headers = signed_headers(secret)
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=missing):
        verify_webhook(secret, headers, BODY, now=NOW)


@pytest.mark.parametrize("timestamp", ["hello", "1614265330.5", "", "-5"])
def test_a_timestamp_that_is_not_integer_seconds_fails(timestamp: str) -> None:
    secret = new_secret()
    headers = {**signed_headers(secret), "webhook-timestamp": timestamp}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, BODY, now=NOW)


def test_a_signed_body_that_is_not_a_json_object_fails() -> None:
    secret = new_secret()
    for body in ("[1, 2]", "not json"):
        with pytest.raises(WebhookVerificationError, match="JSON"):
            verify_webhook(secret, signed_headers(secret, body), body, now=NOW)


@pytest.mark.parametrize("secret", ["whsec_", "whsec_***", ""])
def test_a_malformed_secret_is_a_configuration_error_not_a_bad_delivery(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        verify_webhook(secret, signed_headers(new_secret()), BODY, now=NOW)

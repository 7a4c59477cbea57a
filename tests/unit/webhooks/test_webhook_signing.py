"""Webhook secrets, Standard Webhooks signatures and secret rotation.

Goal: any partner using a Standard Webhooks library accepts our deliveries, before, during and
after a secret rotation, and rejects one whose body was changed; our secrets have the published
format; a malformed secret is refused with a message that does not echo it.

Method: sign with our module, verify with the independent ``standardwebhooks`` package from PyPI
(its ``Webhook.verify`` reads the real clock, so these deliveries are stamped with it); reproduce
the published test vector of that library's own test suite (``test_sign_function`` in
standard-webhooks/libraries/python/tests/test_webhooks.py) byte for byte; walk a rotation's
overlap at and around its end.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks
from hypothesis import given
from hypothesis import strategies as st

from zeropools.domain import limits
from zeropools.domain.errors import ValidationFailed
from zeropools.domain.webhooks import (
    EndpointSecrets,
    headers,
    new_secret,
    parse_secret,
    rotate,
    sign,
    signing_secrets,
)

# The Standard Webhooks test vector (secret, message id, timestamp, payload, signature).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP_S = 1614265330
VECTOR_PAYLOAD = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OLD = new_secret(bytes(range(limits.WEBHOOK_SECRET_BYTES)))
NEW = new_secret(bytes(range(100, 100 + limits.WEBHOOK_SECRET_BYTES)))
BODY = b'{"id":"evt_01J0000000000000000000000","type":"trade.settled","amount":"100.50"}'
EVENT_ID = "evt_01J0000000000000000000000"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def delivery(secrets: list[str], body: bytes = BODY) -> dict[str, str]:
    return headers(secrets, EVENT_ID, int(time.time()), body)


def test_the_published_test_vector_is_reproduced_exactly() -> None:
    assert sign([VECTOR_SECRET], VECTOR_MSG_ID, VECTOR_TIMESTAMP_S, VECTOR_PAYLOAD) == (
        VECTOR_SIGNATURE
    )


def test_the_reference_library_signs_the_vector_as_we_do() -> None:
    reference = standardwebhooks.Webhook(VECTOR_SECRET).sign(
        msg_id=VECTOR_MSG_ID,
        timestamp=datetime.fromtimestamp(VECTOR_TIMESTAMP_S, UTC),
        data=VECTOR_PAYLOAD.decode(),
    )
    assert reference == VECTOR_SIGNATURE


def test_the_reference_library_accepts_our_delivery() -> None:
    verified = standardwebhooks.Webhook(NEW).verify(BODY, delivery([NEW]))
    assert verified["type"] == "trade.settled"


def test_the_reference_library_rejects_a_tampered_body() -> None:
    sent = delivery([NEW])
    tampered = BODY.replace(b"100.50", b"900.50")
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(NEW).verify(tampered, sent)


def test_the_reference_library_rejects_another_endpoints_secret() -> None:
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(OLD).verify(BODY, delivery([NEW]))


def test_during_a_rotation_either_secret_alone_verifies_the_two_signature_header() -> None:
    sent = delivery([NEW, OLD])
    signatures = sent["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    for secret in (NEW, OLD):
        standardwebhooks.Webhook(secret).verify(BODY, sent)


def test_headers_are_the_standard_four() -> None:
    sent = headers([NEW], EVENT_ID, 1_700_000_000, BODY)
    assert sent == {
        "webhook-id": EVENT_ID,
        "webhook-timestamp": "1700000000",
        "webhook-signature": sign([NEW], EVENT_ID, 1_700_000_000, BODY),
        "content-type": "application/json",
    }


def test_the_signature_covers_id_and_timestamp_too() -> None:
    base = sign([NEW], EVENT_ID, 1_700_000_000, BODY)
    assert sign([NEW], EVENT_ID, 1_700_000_001, BODY) != base
    assert sign([NEW], EVENT_ID[:-1] + "1", 1_700_000_000, BODY) != base


def test_an_id_with_a_dot_is_a_bug_not_a_delivery() -> None:
    # "{id}.{timestamp}." must have one reading; our event ids never contain a dot.
    with pytest.raises(AssertionError):
        sign([NEW], "evt_1.2", 3, BODY)


def test_a_new_secret_has_the_published_format_and_round_trips() -> None:
    random_bytes = bytes(range(limits.WEBHOOK_SECRET_BYTES))
    secret = new_secret(random_bytes)
    assert secret.startswith("whsec_")
    assert base64.b64decode(secret.removeprefix("whsec_")) == random_bytes
    assert parse_secret(secret) == random_bytes


def test_the_vector_secret_of_24_bytes_without_padding_parses() -> None:
    assert len(parse_secret(VECTOR_SECRET)) == 24


def test_too_few_random_bytes_for_a_secret_is_a_bug() -> None:
    with pytest.raises(AssertionError):
        new_secret(b"\x00" * (limits.WEBHOOK_SECRET_BYTES_MIN - 1))


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "no whsec_ prefix"),
        ("whsec_", "empty"),
        ("whsec_AAAA", "3 bytes: too short"),
        ("whsec_" + base64.b64encode(b"\x00" * 65).decode(), "65 bytes: too long"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8I-PZIo2LaLaSw", "URL-safe alphabet"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8I PZIo2LaLaSw", "a space"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "a length no base64 has"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSé", "not ASCII"),
    ],
)
def test_a_malformed_secret_is_refused_without_echoing_it(secret: str, why: str) -> None:
    with pytest.raises(ValueError, match="webhook secret is malformed") as refused:
        parse_secret(secret)
    key_text = secret.removeprefix("whsec_")
    assert len(key_text) < 8 or key_text not in str(refused.value), why


def test_signing_with_a_malformed_secret_fails_loudly() -> None:
    with pytest.raises(ValueError, match="malformed"):
        sign(["whsec_AAAA"], EVENT_ID, 1, BODY)


def test_without_a_rotation_only_the_current_secret_signs() -> None:
    assert signing_secrets(EndpointSecrets(NEW), T0) == [NEW]


def test_a_rotation_signs_with_both_until_the_overlap_ends_exactly() -> None:
    rotated = rotate(EndpointSecrets(OLD), NEW, now=T0, overlap_s=3600)
    assert rotated == EndpointSecrets(NEW, OLD, T0 + timedelta(hours=1))
    assert signing_secrets(rotated, T0) == [NEW, OLD]
    assert signing_secrets(rotated, T0 + timedelta(seconds=3599.999999)) == [NEW, OLD]
    assert signing_secrets(rotated, T0 + timedelta(seconds=3600)) == [NEW]
    assert signing_secrets(rotated, T0 + timedelta(days=30)) == [NEW]


def test_a_rotation_without_overlap_drops_the_old_secret_at_once() -> None:
    rotated = rotate(EndpointSecrets(OLD), NEW, now=T0, overlap_s=0)
    assert signing_secrets(rotated, T0) == [NEW]


def test_rotating_during_an_overlap_keeps_two_secrets_not_three() -> None:
    newest = new_secret(b"\x07" * limits.WEBHOOK_SECRET_BYTES)
    once = rotate(EndpointSecrets(OLD), NEW, now=T0, overlap_s=3600)
    twice = rotate(once, newest, now=T0 + timedelta(minutes=1), overlap_s=3600)
    assert signing_secrets(twice, T0 + timedelta(minutes=2)) == [newest, NEW]


@pytest.mark.parametrize(
    "overlap_s", [-1, limits.WEBHOOK_ROTATION_OVERLAP_MAX_S + 1, 1.5, "3600", True, None]
)
def test_an_overlap_outside_the_limits_is_refused_on_its_field(overlap_s: object) -> None:
    with pytest.raises(ValidationFailed) as refused:
        rotate(EndpointSecrets(OLD), NEW, now=T0, overlap_s=overlap_s)
    assert refused.value.extra["errors"][0]["field"] == "overlap_s"


def test_without_an_overlap_given_the_default_one_applies() -> None:
    rotated = rotate(EndpointSecrets(OLD), NEW, now=T0)
    default = timedelta(seconds=limits.WEBHOOK_ROTATION_OVERLAP_DEFAULT_S)
    assert rotated.previous_expires_at == T0 + default
    assert limits.WEBHOOK_ROTATION_OVERLAP_DEFAULT_S <= limits.WEBHOOK_ROTATION_OVERLAP_MAX_S


@given(
    key=st.binary(
        min_size=limits.WEBHOOK_SECRET_BYTES_MIN, max_size=limits.WEBHOOK_SECRET_BYTES_MAX
    ),
    body=st.text().map(str.encode),
    timestamp_s=st.integers(min_value=0, max_value=2**37),
)
def test_the_reference_library_agrees_on_any_key_body_and_time(
    key: bytes, body: bytes, timestamp_s: int
) -> None:
    secret = new_secret(key)
    reference = standardwebhooks.Webhook(secret).sign(
        msg_id=EVENT_ID, timestamp=datetime.fromtimestamp(timestamp_s, UTC), data=body.decode()
    )
    assert sign([secret], EVENT_ID, timestamp_s, body) == reference

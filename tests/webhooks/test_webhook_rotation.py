"""Rotating an endpoint's secret: during the overlap both secrets sign, afterwards only the new.

Goal: after ``rotate-secret`` with an overlap, each delivery carries two ``v1,`` signatures,
space-separated, and a receiver holding either secret alone accepts it (checked with the
``standardwebhooks`` package); once the overlap ends (or with ``overlap_s`` 0) only the new
secret signs. The new secret is shown once and differs from the old; a deleted endpoint's secret
cannot be rotated; overlaps outside 0..7 days are refused.
Method: the service layer on both stores and ``deliver_once`` against a local receiver; at the
real time for ``standardwebhooks``, at a time past the overlap with ``verify_webhook`` (which
takes the time to check against).
"""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta

import pytest
import standardwebhooks

from support import ctx_for, onboard
from webhook_support import fund, receiving, register, sender
from zeropools.client import WebhookVerificationError, verify_webhook
from zeropools.domain import limits
from zeropools.domain.clock import utc_now
from zeropools.domain.errors import InvalidTransition, ValidationFailed
from zeropools.domain.webhooks import new_secret
from zeropools.services import webhook_endpoints
from zeropools.services.context import Deployment
from zeropools.workers.webhooks import deliver_once

_bank_ids = itertools.count(1)


def test_during_the_overlap_both_secrets_sign_and_each_alone_verifies(dep: Deployment) -> None:
    new = onboard(dep)
    admin = ctx_for("partner_admin", new.partner.id)
    with receiving() as receiver:
        shown = register(dep, new, receiver.url)
        rotated = webhook_endpoints.rotate_secret(dep, admin, shown.endpoint.id, overlap_s=3600)
        fund(dep, new, "10.00", f"rot-{next(_bank_ids)}")

        deliver_once(dep, client=sender())

        (request,) = receiver.requests
    assert rotated.secret != shown.secret and rotated.secret.startswith("whsec_")
    assert rotated.endpoint.secrets.previous == shown.secret
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (shown.secret, rotated.secret):
        event = standardwebhooks.Webhook(secret).verify(request.body, request.headers)
        assert event["type"] == "payin.credited"
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret(secrets.token_bytes(32))).verify(
            request.body, request.headers
        )


def test_after_the_overlap_only_the_new_secret_signs(dep: Deployment) -> None:
    new = onboard(dep)
    admin = ctx_for("partner_admin", new.partner.id)
    with receiving() as receiver:
        shown = register(dep, new, receiver.url)
        rotated = webhook_endpoints.rotate_secret(dep, admin, shown.endpoint.id, overlap_s=60)
        fund(dep, new, "10.00", f"rot-{next(_bank_ids)}")
        later = utc_now() + timedelta(seconds=61)

        deliver_once(dep, now=later, client=sender())

        (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    verify_webhook(rotated.secret, request.headers, request.body, now=later)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(shown.secret, request.headers, request.body, now=later)


def test_a_rotation_without_overlap_retires_the_old_secret_at_once(dep: Deployment) -> None:
    new = onboard(dep)
    admin = ctx_for("partner_admin", new.partner.id)
    with receiving() as receiver:
        shown = register(dep, new, receiver.url)
        rotated = webhook_endpoints.rotate_secret(dep, admin, shown.endpoint.id, overlap_s=0)
        fund(dep, new, "10.00", f"rot-{next(_bank_ids)}")

        deliver_once(dep, client=sender())

        (request,) = receiver.requests
    assert rotated.endpoint.secrets.previous is None
    standardwebhooks.Webhook(rotated.secret).verify(request.body, request.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(shown.secret).verify(request.body, request.headers)


def test_overlaps_out_of_range_and_deleted_endpoints_are_refused(dep: Deployment) -> None:
    new = onboard(dep)
    admin = ctx_for("partner_admin", new.partner.id)
    shown = register(dep, new, "http://127.0.0.1:9/hooks")
    for overlap in (-1, limits.WEBHOOK_ROTATION_OVERLAP_MAX_S + 1, "60", 1.5, True):
        with pytest.raises(ValidationFailed):
            webhook_endpoints.rotate_secret(dep, admin, shown.endpoint.id, overlap_s=overlap)
    webhook_endpoints.delete_endpoint(dep, admin, shown.endpoint.id)
    with pytest.raises(InvalidTransition):
        webhook_endpoints.rotate_secret(dep, admin, shown.endpoint.id)
    # refusals changed nothing: the secret that was shown still is the endpoint's
    endpoint = webhook_endpoints.get_endpoint(dep, admin, shown.endpoint.id)
    assert endpoint.secrets.current == shown.secret and endpoint.secrets.previous is None

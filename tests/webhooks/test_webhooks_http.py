"""The webhook routes over HTTP: one test per route, partner isolation, live-mode URL policy.

Goal: ``POST /v1/webhook-endpoints`` answers 201 with the secret shown once (the URL
normalised, every type by default) and refuses bad URLs and platform-only types; lists and
reads never show a secret; ``DELETE`` stops deliveries and keeps the endpoint readable;
``rotate-secret`` answers a new secret with the old one's expiry; ``deliveries`` lists attempts
newest first, paged; ``POST /v1/events/{id}/redeliver`` answers 202 with what it queued.
``partner_server`` keys get 403; operators name the partner; another partner's endpoints,
deliveries and events answer 404 with the same body as ids that do not exist. A ``live``
deployment refuses ``http://127.0.0.1/...`` unless ``ZEROPOOLS_WEBHOOK_ALLOW_PRIVATE=true``, and
checks the resolved address again when it delivers.
Method: the ``client`` fixture (TestClient over ``create_app``, SQLite and PostgreSQL) with real
keys; deliveries made with ``deliver_once`` against a local receiver; the live deployment built
through ``bootstrap`` from ``config.from_env``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from support import (
    HttpPartner,
    assert_problem,
    bearer,
    ctx_for,
    issue_operator_key,
    onboard,
    post_partner,
    post_payin,
    reference_of,
    send_payin,
    sqlite_url,
)
from webhook_support import receiving, sender
from zeropools.bootstrap import deployment, initialize
from zeropools.config import from_env
from zeropools.domain.errors import ValidationFailed
from zeropools.services import webhook_endpoints
from zeropools.services.context import Deployment
from zeropools.store.open import open_store
from zeropools.workers.webhooks import deliver_once

UNKNOWN_ENDPOINT = "we_00000000000000000000000000"
UNKNOWN_EVENT = "evt_00000000000000000000000000"
_bank_ids = itertools.count(1)


@pytest.fixture
def operator(dep: Deployment) -> dict[str, str]:
    return bearer(issue_operator_key(dep).secret)


def _partner(client: TestClient, operator: dict[str, str], name: str = "Acme") -> HttpPartner:
    return HttpPartner.from_body(post_partner(client, operator, name))


def _create(
    client: TestClient, partner: HttpPartner, url: str = "http://127.0.0.1:9/hooks", **extra: Any
) -> dict[str, Any]:
    response = client.post(
        "/v1/webhook-endpoints", json={"url": url, **extra}, headers=partner.admin
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _fund(client: TestClient, operator: dict[str, str], partner: HttpPartner) -> None:
    response = post_payin(
        client, operator, f"http-{next(_bank_ids)}", "100.00", reference=partner.eur
    )
    assert response.is_success, response.text


def _same_404(first: httpx.Response, second: httpx.Response, *ids: str) -> None:
    """Both are the same 404: identical bodies but for the request id and the id asked for
    (``ids``: the ids in the two paths, each replaced by a placeholder)."""
    texts = []
    for response in (first, second):
        body = assert_problem(response, 404, "not_found")
        body.pop("request_id")
        text = json.dumps(body, sort_keys=True)
        for asked in ids:
            text = text.replace(asked, "<id>")
        texts.append(text)
    assert texts[0] == texts[1]


def test_registering_an_endpoint_shows_its_secret_once(
    client: TestClient, operator: dict[str, str]
) -> None:
    partner = _partner(client, operator)

    response = client.post(
        "/v1/webhook-endpoints",
        json={"url": "HTTP://127.0.0.1:8080", "description": "orders"},
        headers=partner.admin,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("we_") and body["object"] == "webhook_endpoint"
    assert body["url"] == "http://127.0.0.1:8080/"  # normalised
    assert body["event_types"] == ["*"] and body["status"] == "enabled"
    assert body["secret"].startswith("whsec_") and body["description"] == "orders"
    assert body["partner_id"] == partner.id and body["previous_secret_expires_at"] is None
    typed = _create(client, partner, event_types=["trade.settled", "payin.credited"])
    assert typed["event_types"] == ["trade.settled", "payin.credited"]
    for refused, field in (
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "http://user:pw@127.0.0.1/"}, "url"),
        ({"url": "http://127.0.0.1/", "event_types": ["payin.needs_review"]}, "event_types"),
        ({"url": "http://127.0.0.1/", "event_types": ["trade.exploded"]}, "event_types"),
        ({"url": "http://127.0.0.1/", "event_types": []}, "event_types"),
        ({"url": "http://127.0.0.1/", "extra": 1}, "extra"),
    ):
        answer = client.post("/v1/webhook-endpoints", json=refused, headers=partner.admin)
        problem = assert_problem(answer, 422, "validation_error")
        assert field in {e["field"] for e in problem["errors"]}, problem
    server = client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1/"}, headers=partner.server
    )
    assert_problem(server, 403, "forbidden")
    # operators register for a partner they name
    nameless = client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1/"}, headers=operator
    )
    assert_problem(nameless, 422, "validation_error")
    by_operator = client.post(
        f"/v1/webhook-endpoints?partner_id={partner.id}",
        json={"url": "http://127.0.0.1/"},
        headers=operator,
    )
    assert by_operator.status_code == 201 and by_operator.json()["partner_id"] == partner.id


def test_listing_endpoints_pages_newest_first_without_secrets(
    client: TestClient, operator: dict[str, str]
) -> None:
    partner = _partner(client, operator)
    made = [_create(client, partner, f"http://127.0.0.1:{9000 + n}/") for n in range(3)]

    first = client.get("/v1/webhook-endpoints?limit=2", headers=partner.admin)

    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["id"] for e in page["data"]] == [made[2]["id"], made[1]["id"]]
    assert page["has_more"] is True
    assert all("secret" not in e for e in page["data"])
    rest = client.get(
        f"/v1/webhook-endpoints?starting_after={made[1]['id']}", headers=partner.admin
    ).json()
    assert [e["id"] for e in rest["data"]] == [made[0]["id"]] and rest["has_more"] is False
    by_operator = client.get(f"/v1/webhook-endpoints?partner_id={partner.id}", headers=operator)
    assert len(by_operator.json()["data"]) == 3
    assert_problem(client.get("/v1/webhook-endpoints", headers=partner.server), 403, "forbidden")


def test_reading_an_endpoint_never_shows_its_secret(
    client: TestClient, operator: dict[str, str]
) -> None:
    partner = _partner(client, operator)
    created = _create(client, partner)

    response = client.get(f"/v1/webhook-endpoints/{created['id']}", headers=partner.admin)

    assert response.status_code == 200
    created.pop("secret")
    assert response.json() == created
    assert client.get(f"/v1/webhook-endpoints/{created['id']}", headers=operator).json() == created


def test_deleting_an_endpoint_stops_deliveries_and_keeps_it_readable(
    client: TestClient, operator: dict[str, str], dep: Deployment
) -> None:
    partner = _partner(client, operator)
    with receiving() as receiver:
        created = _create(client, partner, receiver.url)

        response = client.delete(f"/v1/webhook-endpoints/{created['id']}", headers=partner.admin)
        _fund(client, operator, partner)
        deliver_once(dep, client=sender())

        assert receiver.requests == []
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "deleted" and response.json()["deleted_at"]
    listed = client.get("/v1/webhook-endpoints", headers=partner.admin).json()
    assert listed["data"] == []
    read = client.get(f"/v1/webhook-endpoints/{created['id']}", headers=partner.admin)
    assert read.json()["status"] == "deleted"


def test_rotating_a_secret_answers_the_new_one_and_when_the_old_one_stops(
    client: TestClient, operator: dict[str, str]
) -> None:
    partner = _partner(client, operator)
    created = _create(client, partner)
    path = f"/v1/webhook-endpoints/{created['id']}/rotate-secret"

    rotated = client.post(path, json={"overlap_s": 600}, headers=partner.admin)

    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    assert body["previous_secret_expires_at"] is not None
    default = client.post(path, headers=partner.admin)  # no body: the default overlap
    assert default.status_code == 200 and default.json()["secret"] != body["secret"]
    for overlap in (-1, 8 * 24 * 3600, "60"):
        refused = client.post(path, json={"overlap_s": overlap}, headers=partner.admin)
        assert_problem(refused, 422, "validation_error")
    assert_problem(client.post(path, headers=partner.server), 403, "forbidden")
    client.delete(f"/v1/webhook-endpoints/{created['id']}", headers=partner.admin)
    gone = assert_problem(client.post(path, headers=partner.admin), 409, "invalid_transition")
    assert gone["endpoint_status"] == "deleted"


def test_the_delivery_log_lists_attempts_newest_first(
    client: TestClient, operator: dict[str, str], dep: Deployment
) -> None:
    partner = _partner(client, operator)
    with receiving() as receiver:
        created = _create(client, partner, receiver.url)
        for _ in range(3):
            _fund(client, operator, partner)
        deliver_once(dep, client=sender())
        sent = receiver.webhook_ids()
    path = f"/v1/webhook-endpoints/{created['id']}/deliveries"

    response = client.get(f"{path}?limit=2", headers=partner.admin)

    assert response.status_code == 200, response.text
    page = response.json()
    assert page["has_more"] is True
    newest = page["data"][0]
    assert newest["id"].startswith("wd_") and newest["object"] == "webhook_delivery"
    assert newest["event_id"] == sent[2] and newest["endpoint_id"] == created["id"]
    assert (newest["attempt"], newest["status"], newest["status_code"]) == (1, "succeeded", 200)
    assert newest["latency_ms"] >= 0 and newest["error"] is None
    assert newest["next_attempt_at"] is None and newest["attempted_at"]
    rest = client.get(f"{path}?starting_after={page['data'][1]['id']}", headers=partner.admin)
    assert [d["event_id"] for d in rest.json()["data"]] == [sent[0]]
    assert_problem(client.get(path, headers=partner.server), 403, "forbidden")


def test_redelivering_an_event_answers_202_with_what_was_queued(
    client: TestClient, operator: dict[str, str], dep: Deployment
) -> None:
    partner = _partner(client, operator)
    with receiving() as receiver:
        first = _create(client, partner, receiver.url)
        second = _create(client, partner, receiver.url, event_types=["trade.settled"])
        _fund(client, operator, partner)
        deliver_once(dep, client=sender())
        (event_id,) = receiver.webhook_ids()

        to_all = client.post(f"/v1/events/{event_id}/redeliver", headers=partner.admin)
        to_one = client.post(
            f"/v1/events/{event_id}/redeliver",
            json={"endpoint_id": second["id"]},  # asked by name: sent though not subscribed
            headers=partner.admin,
        )
        deliver_once(dep, client=sender())

        assert receiver.webhook_ids() == [event_id] * 3
    assert to_all.status_code == 202, to_all.text
    body = to_all.json()
    assert body["object"] == "redelivery_request" and body["event_id"] == event_id
    # every endpoint that wants the event: the credit is not a trade.settled
    assert [r["endpoint_id"] for r in body["redeliveries"]] == [first["id"]]
    assert body["redeliveries"][0]["status"] == "pending"
    assert body["redeliveries"][0]["id"].startswith("wr_")
    assert to_one.status_code == 202
    assert [r["endpoint_id"] for r in to_one.json()["redeliveries"]] == [second["id"]]
    assert_problem(
        client.post(f"/v1/events/{event_id}/redeliver", headers=partner.server), 403, "forbidden"
    )
    client.delete(f"/v1/webhook-endpoints/{second['id']}", headers=partner.admin)
    to_deleted = client.post(
        f"/v1/events/{event_id}/redeliver",
        json={"endpoint_id": second["id"]},
        headers=partner.admin,
    )
    assert assert_problem(to_deleted, 409, "invalid_transition")["endpoint_status"] == "deleted"


def test_another_partners_endpoints_deliveries_and_events_are_not_found(
    client: TestClient, operator: dict[str, str], dep: Deployment
) -> None:
    mine, theirs = _partner(client, operator, "Mine"), _partner(client, operator, "Theirs")
    with receiving() as receiver:
        their_endpoint = _create(client, theirs, receiver.url)["id"]
        _fund(client, operator, theirs)
        deliver_once(dep, client=sender())
        (their_event,) = receiver.webhook_ids()
    my_endpoint = _create(client, mine)["id"]
    base = "/v1/webhook-endpoints"

    def both(method: str, path: str, unknown_path: str, **kwargs: Any) -> None:
        _same_404(
            client.request(method, path, headers=mine.admin, **kwargs),
            client.request(method, unknown_path, headers=mine.admin, **kwargs),
            their_endpoint,
            their_event,
            UNKNOWN_ENDPOINT,
            UNKNOWN_EVENT,
        )

    both("GET", f"{base}/{their_endpoint}", f"{base}/{UNKNOWN_ENDPOINT}")
    both("DELETE", f"{base}/{their_endpoint}", f"{base}/{UNKNOWN_ENDPOINT}")
    both(
        "POST",
        f"{base}/{their_endpoint}/rotate-secret",
        f"{base}/{UNKNOWN_ENDPOINT}/rotate-secret",
    )
    both("GET", f"{base}/{their_endpoint}/deliveries", f"{base}/{UNKNOWN_ENDPOINT}/deliveries")
    both("POST", f"/v1/events/{their_event}/redeliver", f"/v1/events/{UNKNOWN_EVENT}/redeliver")
    # my own event, sent to their endpoint: the endpoint is as unknown as any
    _fund(client, operator, mine)
    my_event = client.get("/v1/events", headers=mine.server).json()["data"][0]["id"]
    _same_404(
        client.post(
            f"/v1/events/{my_event}/redeliver",
            json={"endpoint_id": their_endpoint},
            headers=mine.admin,
        ),
        client.post(
            f"/v1/events/{my_event}/redeliver",
            json={"endpoint_id": UNKNOWN_ENDPOINT},
            headers=mine.admin,
        ),
        their_endpoint,
        UNKNOWN_ENDPOINT,
    )
    # an operator naming a partner sees only that partner's endpoints
    _same_404(
        client.get(f"{base}/{their_endpoint}?partner_id={mine.id}", headers=operator),
        client.get(f"{base}/{UNKNOWN_ENDPOINT}?partner_id={mine.id}", headers=operator),
        their_endpoint,
        UNKNOWN_ENDPOINT,
    )
    # nothing of theirs changed, and each sees only its own
    assert (
        client.get(f"{base}/{their_endpoint}", headers=theirs.admin).json()["status"] == "enabled"
    )
    assert [e["id"] for e in client.get(base, headers=mine.admin).json()["data"]] == [my_endpoint]
    assert [e["id"] for e in client.get(base, headers=theirs.admin).json()["data"]] == [
        their_endpoint
    ]


def _live(tmp_path: Path, **env: str) -> Deployment:
    """A live deployment on a fresh SQLite file, configured from ``env`` as ``serve`` is."""
    url = sqlite_url(tmp_path, "live.db")
    store = open_store(url)
    initialize(store, "live")
    # a live deployment needs its key pepper (ZEROPOOLS_KEY_PEPPER), as `serve` would
    pepper = secrets.token_hex(32)
    return deployment(from_env({"ZEROPOOLS_DB": url, "ZEROPOOLS_KEY_PEPPER": pepper, **env}), store)


def test_a_live_deployment_refuses_private_urls_unless_allowed(tmp_path: Path) -> None:
    live = _live(tmp_path / "strict")
    try:
        new = onboard(live)
        admin = ctx_for("partner_admin", new.partner.id)
        for url in ("http://127.0.0.1/hooks", "http://10.0.0.8/hooks", "http://localhost/x"):
            with pytest.raises(ValidationFailed) as refused:
                webhook_endpoints.create_endpoint(live, admin, url=url)
            assert refused.value.extra["errors"][0]["field"] == "url"
        public = webhook_endpoints.create_endpoint(live, admin, url="https://hooks.example.com/")
        assert public.endpoint.url == "https://hooks.example.com/"
    finally:
        live.store.close()

    allowed = _live(tmp_path / "allowed", ZEROPOOLS_WEBHOOK_ALLOW_PRIVATE="true")
    try:
        assert allowed.webhook_allow_private and allowed.mode == "live"
        new = onboard(allowed)
        admin = ctx_for("partner_admin", new.partner.id)
        shown = webhook_endpoints.create_endpoint(allowed, admin, url="http://127.0.0.1/hooks")
        assert shown.endpoint.url == "http://127.0.0.1/hooks"
    finally:
        allowed.store.close()


def test_a_live_deployment_does_not_deliver_to_a_name_that_resolves_to_a_private_address(
    tmp_path: Path,
) -> None:
    live = _live(tmp_path)
    try:
        new = onboard(live)
        admin = ctx_for("partner_admin", new.partner.id)
        with receiving() as receiver:
            shown = webhook_endpoints.create_endpoint(
                live, admin, url=f"http://hooks.example.com:{receiver.port}/hooks"
            )
            send_payin(live, "live-1", "10.00", reference=reference_of(new))

            def rebound(host: str, port: int, *args: Any) -> list[Any]:
                return [(2, 1, 6, "", ("127.0.0.1", port))]  # the name now points home

            (attempt,) = deliver_once(live, client=sender(), resolve=rebound)

            assert receiver.requests == []
        assert not attempt.result.succeeded
        assert attempt.recorded.attempt.status == "pending"
        assert "not a public address" in (attempt.recorded.attempt.error or "")
        assert attempt.claim.endpoint.id == shown.endpoint.id
    finally:
        live.store.close()


def test_the_deployment_takes_the_private_url_flag_from_the_environment() -> None:
    assert from_env({}).webhook_allow_private is False
    assert from_env({"ZEROPOOLS_WEBHOOK_ALLOW_PRIVATE": "true"}).webhook_allow_private is True
    assert from_env({"ZEROPOOLS_WEBHOOK_WORKER": "off"}).webhook_worker is False
    assert from_env({}).webhook_worker is True
    dep = Deployment(store=None, mode="live")  # type: ignore[arg-type]
    assert not dep.webhook_private_targets_allowed
    assert dataclasses.replace(dep, webhook_allow_private=True).webhook_private_targets_allowed
    assert dataclasses.replace(dep, mode="test").webhook_private_targets_allowed

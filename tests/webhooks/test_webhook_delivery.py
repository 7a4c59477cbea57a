"""Webhook delivery: every event arrives, in order, signed, whatever the receiver does.

Goal: a partner that registers an endpoint, funds and trades receives ``payin.credited`` and
``trade.debited`` deliveries that the ``standardwebhooks`` package verifies, in sequence order,
each body byte for byte what ``GET /v1/events/{id}`` serves. Receivers that fail the first
attempts, time out, or are down for hours still get every event, in order, each retry with the
same ``webhook-id``; the delivery log shows every attempt with its status code, latency and
error; after the last attempt the event is ``failed`` and the next one goes out. Endpoints get
only the types they asked for, from the end of the stream on; a deleted endpoint gets nothing
more; a redelivery sends an old event again and is logged as one.

Method: the service layer and ``workers.webhooks.deliver_once`` on real SQLite and PostgreSQL,
against local HTTP receivers on 127.0.0.1 (``webhook_support``). Time is driven by passing
``now`` to ``deliver_once`` (each tick at the endpoint's next due time, jitter fixed at 0), so
a day of retries takes a second. Where a delivery is signed at a driven time, the signature is
checked with ``zeropools.client.verify_webhook`` at that time (the client's verifier is itself
checked against ``standardwebhooks``); deliveries signed at the real time use
``standardwebhooks`` directly.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import httpx
import standardwebhooks
from fastapi.testclient import TestClient

from support import bearer, ctx_for, issue_operator_key, onboard, post_partner, post_payin
from webhook_support import (
    Receiver,
    always,
    fail_first,
    fund,
    receiving,
    register,
    sender,
    trade,
)
from zeropools.client import verify_webhook
from zeropools.domain import limits
from zeropools.domain.clock import from_rfc3339, utc_now
from zeropools.domain.deliveries import DeliveryAttempt
from zeropools.domain.paging import Page
from zeropools.services import support, webhook_delivery, webhook_endpoints
from zeropools.services.context import Deployment
from zeropools.services.partners import NewPartner
from zeropools.workers.webhook_sender import make_client
from zeropools.workers.webhooks import Delivered, deliver_once

_bank_ids = itertools.count(1)


def no_jitter() -> float:
    return 0.0


def _fund(dep: Deployment, new: NewPartner, amount: str = "1000.00") -> None:
    fund(dep, new, amount, f"bank-{next(_bank_ids)}")


def _log(dep: Deployment, new: NewPartner, endpoint_id: str) -> list[DeliveryAttempt]:
    """The endpoint's delivery log, oldest first."""
    admin = ctx_for("partner_admin", new.partner.id)
    newest_first = webhook_delivery.list_deliveries(
        dep, admin, endpoint_id, partner_id=None, page=Page.of(limits.PAGE_SIZE_MAX)
    )
    return list(reversed(newest_first))


def _due(dep: Deployment, endpoint_id: str) -> datetime:
    endpoint = webhook_endpoints.get_endpoint(dep, ctx_for(), endpoint_id)
    return from_rfc3339(endpoint.next_attempt_at)


def _tick(dep: Deployment, now: datetime, client: httpx.Client | None = None) -> list[Delivered]:
    return deliver_once(dep, now=now, jitter=no_jitter, client=client or sender())


def _verify_at_sent_time(secret: str, receiver: Receiver) -> None:
    for request in receiver.requests:
        sent_at = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
        verify_webhook(secret, request.headers, request.body, now=sent_at)


def test_a_partner_receives_verified_credit_and_debit_in_order_with_the_served_bytes(
    dep: Deployment, client: TestClient
) -> None:
    operator = bearer(issue_operator_key(dep).secret)
    body = post_partner(client, operator, "Hooked Wallet")
    admin, server = (
        bearer(body["api_keys"]["partner_admin"]),
        bearer(body["api_keys"]["partner_server"]),
    )
    reference = body["funding_instructions"][0]["reference"]
    with receiving() as receiver:
        created = client.post("/v1/webhook-endpoints", json={"url": receiver.url}, headers=admin)
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert post_payin(client, operator, "bank-main", "1000.00", reference=reference).is_success
        quote = client.post(
            "/v1/quotes", json={"pool_id": "EUR-USDT", "source_amount": "100.00"}, headers=server
        ).json()
        executed = client.post(
            "/v1/trades",
            json={"quote_id": quote["id"], "partner_order_id": "order-1"},
            headers={**server, "Idempotency-Key": "order-1"},
        )
        assert executed.status_code == 201, executed.text

        done = deliver_once(dep, client=sender())

        assert [d.recorded.attempt.status for d in done] == ["succeeded", "succeeded"]
        webhook = standardwebhooks.Webhook(secret)
        verified = [webhook.verify(r.body, r.headers) for r in receiver.requests]
    assert [e["type"] for e in verified] == ["payin.credited", "trade.debited"]
    assert verified[1]["data"]["object"]["id"] == executed.json()["id"]
    listed = client.get("/v1/events?after_sequence=0", headers=server).json()["data"]
    assert [e["id"] for e in listed] == [e["id"] for e in verified]
    assert [e["sequence"] for e in listed] == [1, 2]
    for request, event in zip(receiver.requests, verified, strict=True):
        assert request.webhook_id == event["id"]
        served = client.get(f"/v1/events/{event['id']}", headers=server)
        assert request.body == served.content  # the bytes signed are the bytes served


def test_a_receiver_failing_the_first_attempts_gets_each_event_in_order_one_id_per_event(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    with receiving(fail_first(3)) as receiver:
        shown = register(dep, new, receiver.url)
        endpoint_id = shown.endpoint.id
        _fund(dep, new)
        trade(dep, new, "100.00", "order-1")
        start = utc_now()

        first = _tick(dep, start)
        assert len(first) == 1 and not first[0].result.succeeded
        assert _tick(dep, start + timedelta(seconds=5)) == []  # not due yet: nothing sent
        now = start
        for _ in range(3):
            now = _due(dep, endpoint_id)
            _tick(dep, now)

        _verify_at_sent_time(shown.secret, receiver)
        event_ids = receiver.webhook_ids()
    credited, debited = event_ids[0], event_ids[-1]
    # the credit four times (three 503s, then 200), and only then the debit, once
    assert event_ids == [credited] * 4 + [debited]
    log = _log(dep, new, endpoint_id)
    assert [(a.event_id, a.attempt, a.status, a.status_code) for a in log] == [
        (credited, 1, "pending", 503),
        (credited, 2, "pending", 503),
        (credited, 3, "pending", 503),
        (credited, 4, "succeeded", 200),
        (debited, 1, "succeeded", 200),
    ]
    assert all(a.latency_ms is not None and a.latency_ms >= 0 for a in log)
    assert log[0].error == "HTTP 503 Service Unavailable" and log[3].error is None
    # the backoff doubles from its base (jitter 0): 10 s, 20 s, 40 s
    gaps = [
        (from_rfc3339(b.attempted_at) - from_rfc3339(a.attempted_at)).total_seconds()
        for a, b in itertools.pairwise(log[:4])
    ]
    assert gaps == [10.0, 20.0, 40.0]
    assert log[0].next_attempt_at == log[1].attempted_at


def test_a_receiver_that_times_out_is_retried_and_the_log_says_why(dep: Deployment) -> None:
    new = onboard(dep)
    slow_then_fine = lambda n, request: (2.0, 200) if n == 1 else 200  # noqa: E731
    with (
        receiving(slow_then_fine) as receiver,
        make_client(read_timeout_s=0.3, total_timeout_s=1.0) as impatient,
    ):
        shown = register(dep, new, receiver.url)
        _fund(dep, new)
        start = utc_now()

        _tick(dep, start, client=impatient)
        _tick(dep, _due(dep, shown.endpoint.id), client=impatient)

        ids = receiver.webhook_ids()
    assert len(ids) == 2 and ids[0] == ids[1]
    timed_out, delivered = _log(dep, new, shown.endpoint.id)
    assert timed_out.status == "pending" and timed_out.status_code is None
    assert timed_out.error is not None and "timeout" in timed_out.error
    assert timed_out.latency_ms is not None and timed_out.latency_ms >= 300
    assert delivered.status == "succeeded" and delivered.attempt == 2


def test_a_receiver_down_for_hours_gets_every_event_once_it_is_back(dep: Deployment) -> None:
    new = onboard(dep)
    receiver = Receiver(always(200))
    receiver.start()
    try:
        shown = register(dep, new, receiver.url)
        endpoint_id = shown.endpoint.id
        receiver.stop()  # down: connections refused
        _fund(dep, new)
        trade(dep, new, "100.00", "order-1")
        trade(dep, new, "50.00", "order-2")
        start = now = utc_now()
        while now - start < timedelta(hours=3):
            _tick(dep, now)
            now = _due(dep, endpoint_id)
        down = _log(dep, new, endpoint_id)
        assert len(down) >= 8 and {a.status for a in down} == {"pending"}
        assert len({a.event_id for a in down}) == 1  # the first event blocks the others: order
        assert all(a.status_code is None and a.error == "connection refused" for a in down)

        receiver.start()  # back, on the same port
        _tick(dep, now)

        _verify_at_sent_time(shown.secret, receiver)
        types = receiver.event_types()
        ids = receiver.webhook_ids()
    finally:
        receiver.stop()
    assert types == ["payin.credited", "trade.debited", "trade.debited"]
    assert len(set(ids)) == 3 and ids[0] == down[0].event_id
    assert [a.status for a in _log(dep, new, endpoint_id)[len(down) :]] == ["succeeded"] * 3


def test_after_the_last_attempt_the_event_is_failed_and_the_next_one_goes_out(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    failing = {"on": True}
    with receiving(lambda n, request: 500 if failing["on"] else 200) as receiver:
        shown = register(dep, new, receiver.url)
        endpoint_id = shown.endpoint.id
        _fund(dep, new)
        start = now = utc_now()
        for _ in range(limits.WEBHOOK_ATTEMPTS_MAX):
            _tick(dep, now)
            now = _due(dep, endpoint_id)
        log = _log(dep, new, endpoint_id)
        assert len(log) == limits.WEBHOOK_ATTEMPTS_MAX
        assert log[-1].status == "failed" and log[-1].next_attempt_at is None
        assert all(a.status == "pending" for a in log[:-1])
        span = from_rfc3339(log[-1].attempted_at) - from_rfc3339(log[0].attempted_at)
        assert span >= timedelta(seconds=limits.WEBHOOK_RETRY_WINDOW_S)
        assert from_rfc3339(log[0].attempted_at) == start

        failing["on"] = False
        trade(dep, new, "100.00", "order-after")
        _tick(dep, now)

        types = receiver.event_types()
    assert types == ["payin.credited"] * limits.WEBHOOK_ATTEMPTS_MAX + ["trade.debited"]
    endpoint = webhook_endpoints.get_endpoint(dep, ctx_for(), endpoint_id)
    assert endpoint.delivered_sequence == 2 and endpoint.attempt == 0


def test_an_endpoint_gets_only_its_types_and_only_events_after_it_was_registered(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    _fund(dep, new)  # before the endpoint: never delivered to it
    with receiving() as receiver:
        shown = register(dep, new, receiver.url, event_types=["trade.debited"])
        _fund(dep, new)
        view = trade(dep, new, "100.00", "order-1")
        _fund(dep, new)

        _tick(dep, utc_now())

        delivered = [r.event() for r in receiver.requests]
    assert [(e["type"], e["data"]["object"]["id"]) for e in delivered] == [
        ("trade.debited", view.trade.id)
    ]
    # the cursor moved past what the endpoint does not want, up to the end of the stream
    endpoint = webhook_endpoints.get_endpoint(dep, ctx_for(), shown.endpoint.id)
    assert endpoint.delivered_sequence == 4
    assert _tick(dep, utc_now()) == []


def test_a_deleted_endpoint_gets_nothing_more(dep: Deployment) -> None:
    new = onboard(dep)
    with receiving() as receiver:
        shown = register(dep, new, receiver.url)
        admin = ctx_for("partner_admin", new.partner.id)
        deleted = webhook_endpoints.delete_endpoint(dep, admin, shown.endpoint.id)
        _fund(dep, new)

        assert _tick(dep, utc_now()) == []

        assert receiver.requests == []
    assert deleted.status == "deleted" and deleted.deleted_at is not None
    # deleting again answers the same endpoint
    again = webhook_endpoints.delete_endpoint(dep, admin, shown.endpoint.id)
    assert again.deleted_at == deleted.deleted_at


def test_a_redelivery_sends_an_old_event_again_and_is_logged_as_one(dep: Deployment) -> None:
    new = onboard(dep)
    with receiving() as receiver:
        shown = register(dep, new, receiver.url)
        _fund(dep, new)
        _tick(dep, utc_now())
        (event_id,) = receiver.webhook_ids()
        admin = ctx_for("partner_admin", new.partner.id)

        queued = webhook_delivery.redeliver(dep, admin, event_id)
        again = _tick(dep, utc_now())

        assert receiver.webhook_ids() == [event_id, event_id]
        assert receiver.requests[0].body == receiver.requests[1].body
    assert [r.endpoint_id for r in queued] == [shown.endpoint.id]
    assert len(again) == 1 and again[0].claim.redelivery_id == queued[0].id
    first, redelivered = _log(dep, new, shown.endpoint.id)
    assert first.redelivery_id is None and first.status == "succeeded"
    assert redelivered.redelivery_id == queued[0].id and redelivered.status == "succeeded"
    assert redelivered.event_id == event_id and redelivered.attempt == 1
    # done: asking the worker again sends nothing more
    assert _tick(dep, utc_now()) == []


def test_a_trades_support_packet_shows_every_delivery_attempt_of_its_events(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    _fund(dep, new)
    with receiving(fail_first(1)) as receiver:
        # registered after the credit: the endpoint's stream starts with the trade's event
        endpoint_id = register(dep, new, receiver.url).endpoint.id
        executed = trade(dep, new, "100.00", "order-told")
        _tick(dep, utc_now())
        _tick(dep, _due(dep, endpoint_id))
    attempts = _log(dep, new, endpoint_id)
    assert [(a.status, a.status_code) for a in attempts] == [("pending", 503), ("succeeded", 200)]
    [event_id] = {a.event_id for a in attempts}
    admin = ctx_for("partner_admin", new.partner.id)

    packet = support.support_packet(
        dep, admin, partner_id=None, ids={"trade_id": executed.trade.id}
    )

    told = [item for item in packet.timeline if item.kind == "delivery"]
    assert [item.id for item in told] == [a.id for a in attempts]
    assert [item.summary for item in told] == [
        f"webhook delivery of {event_id}: pending (HTTP 503)",
        f"webhook delivery of {event_id}: succeeded (HTTP 200)",
    ]
    other = onboard(dep)
    assert (
        dep.store.read(lambda tx: support.webhook_deliveries(tx, other.partner.id, [event_id]))
        == ()
    )

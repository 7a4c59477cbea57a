"""Webhook workers running for real: concurrently, crashing, hung up on, inside the app.

Goal: two workers at once on one PostgreSQL, each with its own store, deliver every event to
every endpoint exactly once and in order (the normal case: nobody crashes); a worker killed
between sending and recording leaves the endpoint leased at the same event, and once the lease
ends the next worker sends it again with the same ``webhook-id``, so nothing is lost; an
endpoint that hangs holds one sender, never the others, nor the API; the app started with a
worker delivers in the background and stops it when it stops.
Method: ``Worker`` threads on real time against local receivers (polling every few ms so the
tests stay short), a subprocess worker (``webhook_worker.py``) that ``os._exit``s right after
its first send, and a TestClient over ``create_app(dep, [worker])`` whose lifespan starts and
stops the worker.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from webhook_worker import DIED_AFTER_SEND

from support import bearer, ctx_for, issue_operator_key, onboard, opened_store
from webhook_support import Receiver, fund, receiving, register, sender, trade
from zeropools.api.app import create_app
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.domain import limits
from zeropools.domain.clock import utc_now
from zeropools.domain.paging import Page
from zeropools.services import events, webhook_delivery, webhook_endpoints
from zeropools.services.context import Deployment
from zeropools.services.partners import NewPartner
from zeropools.workers.webhook_sender import make_client
from zeropools.workers.webhooks import Worker, deliver_once

WORKER_SCRIPT = Path(__file__).with_name("webhook_worker.py")
SETTLE_S = 60.0  # everything due must be delivered within this
FAST_POLL_S = 0.02
_bank_ids = itertools.count(1)


def _wait_for(condition: Callable[[], bool], timeout_s: float = SETTLE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _stream(dep: Deployment, partner_id: str) -> list[str]:
    found = events.list_events(
        dep, ctx_for(), partner_id=partner_id, after_sequence=0, types=[], page=Page.of(1000)
    )
    return [e.id for e in found]


def _caught_up(dep: Deployment, endpoint_id: str, partner_id: str) -> bool:
    endpoint = webhook_endpoints.get_endpoint(dep, ctx_for(), endpoint_id)
    return endpoint.delivered_sequence == len(_stream(dep, partner_id))


def _activity(dep: Deployment, new: NewPartner, trades: int) -> None:
    fund(dep, new, "1000.00", f"workers-{next(_bank_ids)}")
    for _ in range(trades):
        trade(dep, new, "10.00", f"order-{next(_bank_ids)}")


@pytest.mark.postgres
def test_two_workers_on_one_postgresql_deliver_each_event_once_per_endpoint_in_order(
    pg_url: str,
) -> None:
    with opened_store(pg_url) as store_a, opened_store(pg_url) as store_b:
        dep_a = deployment(Settings(db_url=pg_url), store_a)
        dep_b = deployment(Settings(db_url=pg_url), store_b)
        with (
            receiving() as r1,
            receiving() as r2,
            receiving() as r3,
            receiving() as r4,
        ):
            acme, bolt, cedar = (onboard(dep_a, name=n) for n in ("Acme", "Bolt", "Cedar"))
            # Acme has two endpoints: each gets the whole stream, independently
            endpoints = [
                (register(dep_a, acme, r1.url).endpoint.id, acme, r1),
                (register(dep_a, acme, r2.url).endpoint.id, acme, r2),
                (register(dep_a, bolt, r3.url).endpoint.id, bolt, r3),
                (register(dep_a, cedar, r4.url).endpoint.id, cedar, r4),
            ]
            for new in (acme, bolt, cedar):
                _activity(dep_a, new, trades=4)
            workers = [
                Worker(dep, threads=3, poll_interval_s=FAST_POLL_S, client=sender())
                for dep in (dep_a, dep_b)
            ]
            for worker in workers:
                worker.start()
            try:
                for new in (acme, bolt, cedar):  # more events while both workers deliver
                    _activity(dep_b, new, trades=3)
                for endpoint_id, new, _ in endpoints:
                    _wait_for(lambda e=endpoint_id, p=new.partner.id: _caught_up(dep_a, e, p))
            finally:
                for worker in workers:
                    worker.stop()
            for endpoint_id, new, receiver in endpoints:
                stream = _stream(dep_a, new.partner.id)
                assert len(stream) == 1 + 4 + 1 + 3
                assert receiver.webhook_ids() == stream, endpoint_id  # each once, in order
            assert sum(worker.attempts_made for worker in workers) == 4 * 9


def test_a_worker_killed_between_send_and_record_is_followed_by_a_resend_with_the_same_id(
    dep: Deployment, db_url: str
) -> None:
    new = onboard(dep)
    with receiving() as receiver:
        shown = register(dep, new, receiver.url)
        fund(dep, new, "10.00", f"killed-{next(_bank_ids)}")

        died = subprocess.run(
            [sys.executable, str(WORKER_SCRIPT), db_url],
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert died.returncode == DIED_AFTER_SEND, died.stdout + died.stderr
        (sent,) = receiver.webhook_ids()
        admin = ctx_for("partner_admin", new.partner.id)
        log = webhook_delivery.list_deliveries(
            dep, admin, shown.endpoint.id, partner_id=None, page=Page.of(10)
        )
        assert log == []  # nothing recorded: the crash came first
        endpoint = webhook_endpoints.get_endpoint(dep, admin, shown.endpoint.id)
        assert endpoint.lease_owner is not None and endpoint.delivered_sequence == 0
        # while the dead worker's lease lasts, nobody sends
        assert deliver_once(dep, client=sender()) == []

        after_lease = utc_now() + timedelta(seconds=limits.WEBHOOK_LEASE_S + 1)
        resent = deliver_once(dep, now=after_lease, client=sender())

        assert receiver.webhook_ids() == [sent, sent]
        assert receiver.requests[0].body == receiver.requests[1].body
    assert [d.claim.event.id for d in resent] == [sent]
    (logged,) = webhook_delivery.list_deliveries(
        dep, admin, shown.endpoint.id, partner_id=None, page=Page.of(10)
    )
    assert (logged.event_id, logged.attempt, logged.status) == (sent, 1, "succeeded")
    endpoint = webhook_endpoints.get_endpoint(dep, admin, shown.endpoint.id)
    assert endpoint.lease_owner is None and endpoint.delivered_sequence == 1


def test_an_endpoint_that_hangs_holds_one_sender_and_never_delays_another(
    dep: Deployment,
) -> None:
    hang_s = 3.0
    hanging, prompt = onboard(dep, name="Hanging"), onboard(dep, name="Prompt")
    with (
        receiving(lambda n, request: (hang_s, 200)) as slow,
        receiving() as fast,
        make_client(read_timeout_s=10, total_timeout_s=10) as patient,
    ):
        register(dep, hanging, slow.url)
        fast_endpoint = register(dep, prompt, fast.url).endpoint.id
        fund(dep, hanging, "10.00", f"hang-{next(_bank_ids)}")
        worker = Worker(dep, threads=2, poll_interval_s=FAST_POLL_S, client=patient)
        worker.start()
        try:
            _wait_for(lambda: len(slow.requests) == 1, timeout_s=10)
            fund(dep, prompt, "10.00", f"prompt-{next(_bank_ids)}")  # while the other hangs
            _wait_for(lambda: _caught_up(dep, fast_endpoint, prompt.partner.id), timeout_s=10)
            caught_up_at = time.monotonic()
        finally:
            worker.stop()
        assert caught_up_at < slow.requests[0].at + hang_s  # before the hung answer came
        assert len(fast.requests) == 1


def test_the_app_delivers_in_the_background_and_answers_while_an_endpoint_hangs(
    dep: Deployment,
) -> None:
    hang_s = 2.0
    operator = bearer(issue_operator_key(dep).secret)
    new = onboard(dep)
    admin = bearer(next(k.secret for k in new.keys if k.key.role == "partner_admin"))
    receiver = Receiver(lambda n, request: (hang_s, 200))
    receiver.start()
    worker = Worker(dep, threads=2, poll_interval_s=FAST_POLL_S, client=sender())
    try:
        with TestClient(create_app(dep, [worker])) as client:
            created = client.post(
                "/v1/webhook-endpoints", json={"url": receiver.url}, headers=admin
            )
            assert created.status_code == 201, created.text
            fund(dep, new, "10.00", f"app-{next(_bank_ids)}")
            _wait_for(lambda: len(receiver.requests) == 1, timeout_s=10)

            asked = time.monotonic()
            answer = client.get(f"/v1/events?partner_id={new.partner.id}", headers=operator)
            answered_in_s = time.monotonic() - asked

            assert answer.status_code == 200 and len(answer.json()["data"]) == 1
            assert answered_in_s < hang_s / 2  # the API does not wait for the endpoint
            endpoint_id = created.json()["id"]
            _wait_for(lambda: _caught_up(dep, endpoint_id, new.partner.id), timeout_s=10)
        # the app stopped: so did its worker, which delivers nothing more
        fund(dep, new, "10.00", f"app-{next(_bank_ids)}")
        time.sleep(10 * FAST_POLL_S)
        assert len(receiver.requests) == 1
    finally:
        receiver.stop()

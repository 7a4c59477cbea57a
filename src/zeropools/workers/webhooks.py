"""The webhook delivery worker: claim, send outside any transaction, record.

``deliver_once`` is one deterministic pass for tests and scripts: claim one due attempt at a
time (at the given ``now``), send it, record it, until nothing is due or ``limit`` attempts are
made; it returns what it did. ``Worker`` is the long-running form, inside ``zeropools serve``
(started and stopped with the app) or alone as ``zeropools worker``; any number of them may run
against one PostgreSQL.

Concurrency. A ``Worker`` is one coordinator thread and a pool of ``threads`` sender threads.
The coordinator claims only as many attempts as there are idle senders, so an attempt starts
the moment it is claimed and its lease (``WEBHOOK_LEASE_S``) always outlasts it (an attempt is
bounded by ``WEBHOOK_TOTAL_TIMEOUT_S``). Each claim is one endpoint under its own lease, so:

- a slow or dead endpoint holds one sender for at most the total timeout, then waits for its
  backoff without holding anything; the other senders keep delivering to other endpoints;
- one endpoint is never sent two events at once, which is what keeps its events in order;
- the API is never waited on: attempts run outside transactions, and the claim and record
  transactions are short, without a lane (no partner's balance queue is involved).

Threads rather than one event loop: ``webhook_sender.send`` is synchronous httpx with its own
deadline per connection, the store is synchronous, and a handful of threads per process is
plenty (each attempt is mostly waiting on the network); more throughput is more processes.

The crash hook ``after_send`` runs between sending and recording; tests use it to die there
and show the event is sent again after the lease ends.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import httpx

from zeropools.domain import limits
from zeropools.domain.clock import utc_now
from zeropools.domain.deliveries import Claim
from zeropools.domain.webhooks import headers, signing_secrets
from zeropools.services import webhook_delivery
from zeropools.services.commands import RecordWebhookAttempt
from zeropools.services.context import Deployment
from zeropools.services.webhook_delivery import Recorded
from zeropools.workers.webhook_sender import AttemptResult, Resolver, make_client, send

log = logging.getLogger("zeropools.webhooks")

AfterSend = Callable[[Claim, AttemptResult], None]


@dataclass(frozen=True)
class Delivered:
    """One attempt: what was claimed, what the receiver did, what was recorded."""

    claim: Claim
    result: AttemptResult
    recorded: Recorded


def new_worker_id() -> str:
    """Host, process and a random part: readable in a lease, unique across workers."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def attempt(
    dep: Deployment,
    claim: Claim,
    *,
    client: httpx.Client,
    sent_at: datetime,
    recorded_at: Callable[[], datetime],
    resolve: Resolver = socket.getaddrinfo,
    jitter: Callable[[], float] = random.random,
    after_send: AfterSend | None = None,
) -> Delivered:
    """Send ``claim``'s event once, signed as of ``sent_at``, and record the outcome."""
    body = claim.event.body  # the stored bytes: what GET /v1/events/{id} serves
    signed = headers(
        signing_secrets(claim.endpoint.secrets, sent_at),
        claim.event.id,  # webhook-id: the event id, the same on every attempt
        int(sent_at.timestamp()),
        body,
    )
    result = send(
        claim.endpoint.url,
        signed,
        body,
        client=client,
        resolve=resolve,
        allow_private=dep.webhook_private_targets_allowed,
    )
    if after_send is not None:
        after_send(claim, result)
    command = RecordWebhookAttempt(
        claim=claim,
        attempted_at=sent_at,
        succeeded=result.succeeded,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        error=result.error,
        jitter=jitter(),
    )
    return Delivered(claim, result, webhook_delivery.record(dep, command, now=recorded_at()))


def deliver_once(
    dep: Deployment,
    *,
    now: datetime | None = None,
    client: httpx.Client | None = None,
    limit: int = limits.WEBHOOK_TICK_ATTEMPTS_MAX,
    worker_id: str | None = None,
    resolve: Resolver = socket.getaddrinfo,
    jitter: Callable[[], float] = random.random,
    after_send: AfterSend | None = None,
) -> list[Delivered]:
    """Make every attempt due at ``now`` (default: the clock), one at a time, at most ``limit``.

    With ``now`` given, claims, signatures and the recorded times all use it, so a test drives
    retries by passing later times instead of sleeping. A delivered event makes the endpoint's
    next one due at once, so one call works through a backlog in order.
    """
    worker_id = worker_id or new_worker_id()
    sender = client or make_client()
    try:
        done: list[Delivered] = []
        while len(done) < limit:
            at = now or utc_now()
            claims = webhook_delivery.claim(dep, worker_id=worker_id, now=at, limit=1)
            if not claims:
                break
            done.append(
                attempt(
                    dep,
                    claims[0],
                    client=sender,
                    sent_at=at,
                    recorded_at=lambda: now or utc_now(),
                    resolve=resolve,
                    jitter=jitter,
                    after_send=after_send,
                )
            )
        return done
    finally:
        if client is None:
            sender.close()


class Worker:
    """Delivers in the background until ``stop``: see the module docstring."""

    def __init__(
        self,
        dep: Deployment,
        *,
        threads: int = limits.WEBHOOK_WORKER_THREADS,
        poll_interval_s: float = limits.WEBHOOK_POLL_INTERVAL_S,
        client: httpx.Client | None = None,
        resolve: Resolver = socket.getaddrinfo,
        worker_id: str | None = None,
    ) -> None:
        assert threads >= 1, threads
        self.worker_id = worker_id or new_worker_id()
        self._dep = dep
        self._threads = threads
        self._poll_interval_s = poll_interval_s
        self._own_client = client is None
        self._client = client or make_client()
        self._resolve = resolve
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="webhook-sender")
        self._lock = threading.Lock()
        self._in_flight = 0
        self._attempts_made = 0
        self._stop = threading.Event()
        self._wake = threading.Event()  # an attempt finished: its endpoint may be due again
        self._coordinator = threading.Thread(target=self._run, name="webhook-worker", daemon=True)

    def start(self) -> None:
        self._coordinator.start()
        log.info("webhook worker %s started with %d senders", self.worker_id, self._threads)

    def stop(self, timeout_s: float = limits.WEBHOOK_WORKER_STOP_WAIT_S) -> None:
        """Claim nothing more; wait (bounded) for the attempts in flight to be recorded. One
        that does not finish in time keeps its lease until it ends, and is sent again then."""
        self._stop.set()
        self._wake.set()
        if self._coordinator.is_alive():
            self._coordinator.join(timeout_s)
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._own_client:
            self._client.close()

    @property
    def attempts_made(self) -> int:
        """Attempts sent and recorded since ``start`` (for logs and tests)."""
        with self._lock:
            return self._attempts_made

    def _idle_senders(self) -> int:
        with self._lock:
            return self._threads - self._in_flight

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            free = self._idle_senders()
            claims: list[Claim] = []
            if free > 0:
                try:
                    claims = webhook_delivery.claim(
                        self._dep, worker_id=self.worker_id, now=utc_now(), limit=free
                    )
                except Exception:  # the database is away: try again at the next poll
                    log.exception("webhook worker %s could not claim work", self.worker_id)
            for claim in claims:
                with self._lock:
                    self._in_flight += 1
                self._pool.submit(self._deliver, claim)
            if not claims:
                self._wake.wait(self._poll_interval_s)

    def _deliver(self, claim: Claim) -> None:
        try:
            attempt(
                self._dep,
                claim,
                client=self._client,
                sent_at=utc_now(),
                recorded_at=utc_now,
                resolve=self._resolve,
            )
            with self._lock:
                self._attempts_made += 1
        except Exception:  # unrecorded: the lease runs out and the event is sent again
            log.exception(
                "webhook attempt %s -> %s not recorded", claim.event.id, claim.endpoint.id
            )
        finally:
            with self._lock:
                self._in_flight -= 1
            self._wake.set()

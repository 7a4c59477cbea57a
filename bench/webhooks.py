"""Webhook delivery: deliveries per second through the worker, against bare HTTP sends.

Method: ENDPOINTS partners, one endpoint each, all at one local receiver (threaded
``http.server`` on 127.0.0.1, answering 200 at once), and EVENTS credits per partner queued
before the worker starts. The baseline, measured in the same run, sends the same number of
signed requests with ``webhook_sender.send`` from the same number of threads, with no database:
what HTTP alone costs. Then a ``Worker`` with THREADS senders delivers the backlog (claim,
send, record per attempt) until every endpoint's cursor is at the end of its stream, on SQLite
and on PostgreSQL. A single-threaded ``deliver_once`` pass is measured too. Median of ROUNDS
rounds (each on fresh events). Prints figures only.

Usage: .venv/bin/python bench/webhooks.py [--endpoints 8] [--events 50] [--threads 8]
       [--rounds 3] [--pg URL]
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.domain.webhooks import headers, new_secret
from zeropools.services import partners, payins, webhook_endpoints
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.store.open import open_store
from zeropools.workers.webhook_sender import make_client, send
from zeropools.workers.webhooks import Worker, deliver_once

BODY = b'{"id":"evt_bench","object":"event","type":"payin.credited","data":{"object":{}}}'


class _Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def receiver() -> str:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hooks"


def ctx(role: str, partner_id: str | None = None) -> Ctx:
    return Ctx(ids.new_id(ids.REQUEST), datetime.now(UTC), Actor("bench", role, partner_id))


def endpoints_with_backlog(
    dep: Deployment, url: str, endpoints: int, events: int
) -> list[tuple[str, str]]:
    """(partner id, endpoint id) per endpoint, each with ``events`` credits to deliver."""
    made = []
    for _ in range(endpoints):
        created = partners.create_partner(
            dep, ctx("operator"), name="bench", balance_model="debit", currencies=["EUR"]
        )
        partner_id = created.partner.id
        admin = ctx("partner_admin", partner_id)
        endpoint = webhook_endpoints.create_endpoint(dep, admin, url=url).endpoint
        reference = created.partner.currencies[0].funding_reference
        for _ in range(events):
            note = payins.notification(
                dep,
                bank_transaction_id=f"bench-{uuid.uuid4()}",
                amount="10.00",
                currency="EUR",
                booking_status="booked",
                reference=reference,
            )
            payins.record_payin(dep, ctx("operator"), note)
        made.append((partner_id, endpoint.id))
    return made


def bare_http_rate(url: str, total: int, threads: int) -> float:
    secret = new_secret(b"\x01" * 32)
    with make_client() as client, ThreadPoolExecutor(threads) as pool:
        began = time.perf_counter()
        results = list(
            pool.map(
                lambda _: send(
                    url,
                    headers([secret], "evt_bench", int(time.time()), BODY),
                    BODY,
                    client=client,
                    allow_private=True,
                ),
                range(total),
            )
        )
        elapsed = time.perf_counter() - began
    assert all(r.succeeded for r in results)
    return total / elapsed


def caught_up(dep: Deployment, made: list[tuple[str, str]], events: int) -> bool:
    operator = ctx("operator")
    return all(
        webhook_endpoints.get_endpoint(dep, operator, endpoint_id).delivered_sequence >= events
        for _, endpoint_id in made
    )


def worker_rate(dep: Deployment, url: str, endpoints: int, events: int, threads: int) -> float:
    made = endpoints_with_backlog(dep, url, endpoints, events)
    worker = Worker(dep, threads=threads, poll_interval_s=0.005)
    began = time.perf_counter()
    worker.start()
    try:
        while not caught_up(dep, made, events):
            time.sleep(0.05)  # reads of its own: not too often, they compete with the worker
        elapsed = time.perf_counter() - began
    finally:
        worker.stop()
    return endpoints * events / elapsed


def single_pass_rate(dep: Deployment, url: str, endpoints: int, events: int) -> float:
    made = endpoints_with_backlog(dep, url, endpoints, events)
    with make_client() as client:
        began = time.perf_counter()
        done = deliver_once(dep, client=client, limit=endpoints * events)
        elapsed = time.perf_counter() - began
    assert len(done) == endpoints * events and caught_up(dep, made, events)
    return len(done) / elapsed


def run(label: str, db_url: str, args: argparse.Namespace) -> None:
    store = open_store(db_url)
    initialize(store, "test")
    dep = deployment(Settings(db_url=db_url), store)
    url = receiver()
    total = args.endpoints * args.events
    bare = statistics.median(bare_http_rate(url, total, args.threads) for _ in range(args.rounds))
    pooled = statistics.median(
        worker_rate(dep, url, args.endpoints, args.events, args.threads) for _ in range(args.rounds)
    )
    single = statistics.median(
        single_pass_rate(dep, url, args.endpoints, args.events) for _ in range(args.rounds)
    )
    store.close()
    print(f"{label:8} bare HTTP sends, {args.threads} threads   {bare:8.0f} requests/s")
    print(
        f"{label:8} Worker, {args.threads} senders            {pooled:8.0f} deliveries/s  "
        f"({pooled / bare:.2f} x bare)"
    )
    print(f"{label:8} deliver_once, one thread     {single:8.0f} deliveries/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=8)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(
        f"{args.endpoints} endpoints x {args.events} events, local receiver, "
        f"median of {args.rounds}"
    )
    with tempfile.TemporaryDirectory() as folder:
        run("sqlite", f"sqlite:///{folder}/bench.db", args)
    name = f"zp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        run("postgres", args.pg.rsplit("/", 1)[0] + f"/{name}", args)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

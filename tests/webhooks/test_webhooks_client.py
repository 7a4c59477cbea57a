"""The served app pushes what the Python client pulls: webhooks and ``events()`` agree.

Goal: against the app as ``zeropools serve`` runs it (uvicorn, the webhook worker started by the
app's lifespan), a partner that registers an endpoint, funds and trades receives deliveries
that ``zeropools.client.verify_webhook`` accepts, and ``zeropools.client.Client(...).events()``
reads the same events, gap-free from sequence 1, in the same order.
Method: uvicorn in a thread on a free port over a fresh SQLite file, ``create_app(dep,
[Worker(...)])``; the operator's steps over plain httpx, the partner's through the client; a
local receiver on 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from support import bearer, issue_operator_key, opened_store, post_partner, post_payin, sqlite_url
from webhook_support import receiving, sender
from zeropools.api.app import create_app
from zeropools.bootstrap import deployment
from zeropools.client import Client, verify_webhook
from zeropools.config import Settings
from zeropools.workers.webhooks import Worker

STARTUP_S = 120.0  # a bound against a hang on a loaded machine, not a timing claim
DELIVERED_S = 20.0


@dataclass(frozen=True)
class Served:
    base_url: str
    operator: dict[str, str]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    url = sqlite_url(tmp_path)
    with opened_store(url) as store:
        dep = deployment(Settings(db_url=url), store)
        operator = bearer(issue_operator_key(dep).secret)
        worker = Worker(dep, poll_interval_s=0.05, client=sender())
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(dep, [worker]), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, name="webhooks-live-api", daemon=True)
        thread.start()
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_S
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        try:
            yield Served(base_url, operator)
        finally:
            server.should_exit = True
            thread.join(STARTUP_S)


def test_the_client_reads_gap_free_the_events_the_webhooks_delivered(served: Served) -> None:
    with httpx.Client(base_url=served.base_url, timeout=10.0) as http, receiving() as receiver:
        body = post_partner(http, served.operator, "Client Wallet")
        admin = bearer(body["api_keys"]["partner_admin"])
        reference = body["funding_instructions"][0]["reference"]
        created = http.post("/v1/webhook-endpoints", json={"url": receiver.url}, headers=admin)
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert post_payin(http, served.operator, "cl-1", "500.00", reference=reference).is_success
        with Client(served.base_url, body["api_keys"]["partner_server"]) as partner:
            for n in range(3):
                quote = partner.create_quote("EUR-USDT", "25.00")
                partner.execute(quote.id, f"client-order-{n}")

            pulled = list(partner.events())

        deadline = time.monotonic() + DELIVERED_S
        while len(receiver.requests) < len(pulled):
            assert time.monotonic() < deadline, "not every event was delivered"
            time.sleep(0.05)
        pushed = [verify_webhook(secret, r.headers, r.body) for r in receiver.requests]

    assert [e.sequence for e in pulled] == [1, 2, 3, 4]
    assert [e.type for e in pulled] == ["payin.credited"] + ["trade.debited"] * 3
    assert [e["id"] for e in pushed] == [e.id for e in pulled]
    assert [e["sequence"] for e in pushed] == [e.sequence for e in pulled]

"""Local webhook receivers and shortcuts for the webhook tests (``tests/webhooks``, ``tests/cli``).

``Receiver`` is a threaded ``http.server`` on 127.0.0.1 that records every request it gets (the
headers, the exact body bytes) and answers as its ``script`` says: a status code, or a pause
before answering (to make the sender time out). ``stop``/``start`` take it down and bring it
back on the same port (connections refused meanwhile). Beside ``support.py`` in ``tests/`` so
every test directory finds it (see that module's docstring); free of pytest, so the worker
scripts run in subprocesses can import it too.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from support import ctx_for, reference_of, send_payin
from zeropools.services import trading, webhook_endpoints
from zeropools.services.context import Deployment
from zeropools.services.partners import NewPartner
from zeropools.services.webhook_endpoints import ShownSecret
from zeropools.workers.webhook_sender import make_client


@functools.cache
def sender() -> httpx.Client:
    """One sender client for the test process (making one loads the CA bundle: ~0.1 s)."""
    return make_client()


@dataclass(frozen=True)
class Request:
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


# What to answer the n-th request (from 1) with: a status, or (seconds to wait, then a status).
Script = Callable[[int, "Request"], int | tuple[float, int]]


def always(status: int) -> Script:
    return lambda n, request: status


def fail_first(count: int, status: int = 503) -> Script:
    """``status`` for the first ``count`` requests, 200 afterwards."""
    return lambda n, request: status if n <= count else 200


@dataclass
class Receiver:
    script: Script = field(default_factory=lambda: always(200))
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = Request(
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                    time.monotonic(),
                )
                with receiver._lock:
                    receiver.requests.append(request)
                    answer = receiver.script(len(receiver.requests), request)
                if isinstance(answer, tuple):
                    pause_s, answer = answer
                    time.sleep(pause_s)
                try:
                    self.send_response(answer)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender gave up waiting and hung up: that is the point
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: the port refuses connections until ``start`` again."""
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def webhook_ids(self) -> list[str]:
        with self._lock:
            return [r.webhook_id for r in self.requests]

    def event_types(self) -> list[str]:
        with self._lock:
            return [r.event()["type"] for r in self.requests]


@contextmanager
def receiving(script: Script | None = None) -> Iterator[Receiver]:
    """A started receiver for the ``with`` block."""
    receiver = Receiver(script or always(200))
    receiver.start()
    try:
        yield receiver
    finally:
        if receiver._server is not None:
            receiver.stop()


def register(
    dep: Deployment, new: NewPartner, url: str, event_types: list[str] | None = None
) -> ShownSecret:
    """An endpoint of ``new``, registered by its partner admin."""
    admin = ctx_for("partner_admin", new.partner.id)
    return webhook_endpoints.create_endpoint(dep, admin, url=url, event_types=event_types)


def fund(dep: Deployment, new: NewPartner, amount: str, bank_id: str) -> None:
    send_payin(dep, bank_id, amount, reference=reference_of(new))


def trade(dep: Deployment, new: NewPartner, amount: str, order: str) -> trading.TradeView:
    server = ctx_for("partner_server", new.partner.id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount=amount, partner_order_id=None
    )
    return trading.execute_trade(dep, server, quote_id=quote.quote.id, partner_order_id=order)

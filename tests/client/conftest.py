"""Fixtures for the client tests: the real app served over real HTTP on a free local port.

``live_api`` is one server per module (uvicorn in a thread over ``create_app`` on a fresh SQLite
database, the same app ``zeropools serve`` runs): starting one costs about a second, and the
tests stay independent because each onboards its own partner (balances, ledgers, trades and
idempotency keys are per partner). The operator key is issued the way ``zeropools init`` does;
everything else goes over HTTP.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from client_support import LiveApi

from support import bearer, issue_operator_key, opened_store, sqlite_url
from zeropools.api.app import create_app
from zeropools.bootstrap import deployment
from zeropools.config import Settings

STARTUP_S = 120.0  # a bound against a hang on a loaded machine, not a timing claim
SHUTDOWN_S = 10.0  # and stop within this


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    url = sqlite_url(tmp_path_factory.mktemp("client_live"))
    with opened_store(url) as store:
        dep = deployment(Settings(db_url=url), store)
        operator_key = issue_operator_key(dep).secret
        port = free_port()
        config = uvicorn.Config(
            create_app(dep), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="client-live-api", daemon=True)
        thread.start()
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(base_url, thread)
            yield LiveApi(base_url, bearer(operator_key))
        finally:
            server.should_exit = True
            thread.join(SHUTDOWN_S)


def _wait_until_healthy(base_url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if not thread.is_alive():
            pytest.fail("the live API server thread exited during start-up")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"the live API did not answer /healthz within {STARTUP_S} s")

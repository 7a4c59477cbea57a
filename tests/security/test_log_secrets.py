"""Logs hold no secret, and one JSON line per request (issue 14, finding 6).

Goal: a whole session against a real ``zeropools serve`` (partners, partner and operator keys
issued and revoked, webhook endpoints registered and their secrets rotated, deliveries, a
pay-in, a trade executed and settled, refusals, secrets put where they do not belong: in query
strings, paths, bodies) leaves a log in which no key, webhook secret or the pepper appears, in
which every line is JSON, and where each request has one access line with its request id,
route template (never the raw path or query), status, latency and caller.
Method: ``serve`` in a subprocess with stdout and stderr captured to a file, a local webhook
receiver, httpx; then the whole file scanned for every secret the run issued.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from security_support import serving

from support import bearer, sqlite_url

pytestmark = pytest.mark.slow
DELIVERY_WAIT_S = 30.0


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _session(http: httpx.Client, operator: dict[str, str], receiver: str) -> list[str]:
    """Everything a busy day does; returns every secret it was shown."""
    shown: list[str] = []
    partners = []
    for name in ("Acme", "Globex"):
        created = _ok(
            http.post(
                "/v1/partners",
                headers=operator,
                json={"name": name, "balance_model": "debit", "currencies": ["EUR"]},
            ),
            201,
        )
        shown += created["api_keys"].values()
        partners.append(created)
    acme = partners[0]
    admin = bearer(acme["api_keys"]["partner_admin"])
    server = bearer(acme["api_keys"]["partner_server"])

    extra = _ok(http.post("/v1/operator-keys", headers=operator), 201)
    shown.append(extra["secret"])
    _ok(http.get("/v1/operator-keys", headers=bearer(extra["secret"])))
    _ok(http.delete(f"/v1/api-keys/{extra['id']}", headers=operator))
    spare = _ok(
        http.post(
            f"/v1/partners/{acme['id']}/api-keys", headers=operator, json={"role": "partner_server"}
        ),
        201,
    )
    shown.append(spare["secret"])
    _ok(http.delete(f"/v1/api-keys/{spare['id']}", headers=operator))
    assert http.get("/v1/balances/EUR", headers=bearer(spare["secret"])).status_code == 401

    endpoint = _ok(http.post("/v1/webhook-endpoints", headers=admin, json={"url": receiver}), 201)
    shown.append(endpoint["secret"])
    rotated = _ok(http.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=admin))
    shown.append(rotated["secret"])

    reference = acme["funding_instructions"][0]["reference"]
    _ok(
        http.post(
            "/v1/payins",
            headers=operator,
            json={
                "bank_transaction_id": "log-1",
                "amount": "1000.00",
                "currency": "EUR",
                "booking_status": "booked",
                "reference": reference,
            },
        ),
        201,
    )
    quote = _ok(
        http.post(
            "/v1/quotes",
            headers=server,
            json={"pool_id": "EUR-USDT", "source_amount": "100.00", "partner_order_id": "o-1"},
        ),
        201,
    )
    trade = _ok(
        http.post(
            "/v1/trades",
            headers={**server, "Idempotency-Key": "o-1"},
            json={"quote_id": quote["id"], "partner_order_id": "o-1"},
        ),
        201,
    )
    _ok(
        http.post(
            f"/v1/trades/{trade['id']}/settle",
            headers={**operator, "Idempotency-Key": f"settle-{trade['id']}"},
        )
    )

    # secrets where they do not belong: a query string, a path, a body, a wrong header
    secret = acme["api_keys"]["partner_admin"]
    http.get(f"/v1/events?after_sequence=0&api_key={secret}", headers=admin)
    http.get(f"/v1/ledger-entries?starting_after={secret}", headers=admin)
    http.get(f"/v1/trades/{secret}", headers=admin)
    http.get(f"/{secret}")
    http.post("/v1/partners", headers=operator, json={"name": secret, "balance_model": secret})
    http.post("/v1/partners", headers=operator, content=f"not json {secret}")
    http.get("/v1/partners", headers={"Authorization": f"Basic {secret}"})
    http.get("/v1/partners", headers=bearer(secret[:-1] + "0"))

    deadline = time.monotonic() + DELIVERY_WAIT_S
    while True:  # a delivery signed with the webhook secrets has happened
        attempts = _ok(
            http.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin)
        )["data"]
        if any(a["status"] == "succeeded" for a in attempts):
            break
        assert time.monotonic() < deadline, attempts
        time.sleep(0.2)
    return shown


def test_a_whole_session_logs_no_secret_and_one_json_line_per_request(
    tmp_path: Path, receiver: str
) -> None:
    with serving(sqlite_url(tmp_path), tmp_path / "serve.log") as served:
        operator = bearer(served.operator_key)
        with httpx.Client(base_url=served.base_url, timeout=60) as http:
            shown = _session(http, operator, receiver)
            last = http.get("/v1/partners?limit=1", headers=operator)
            last_request_id = last.headers["x-request-id"]
        log = served.stop()

    pepper = (tmp_path / "key-pepper").read_text().strip()
    secrets = [served.operator_key, pepper, *shown]
    assert len(secrets) == 10
    for secret in secrets:
        body = secret.split("_", 2)[-1] if secret.startswith("zpk_") else secret
        assert secret not in log and body not in log, f"a secret ending {secret[-4:]} is logged"
        assert body[: len(body) // 2] not in log and body[len(body) // 2 :] not in log

    lines = [_json_line(line) for line in log.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "zeropools.access"]
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    assert {"request_id", "route", "status", "latency_ms", "partner_id", "method"} <= set(access[0])
    routes = {line["route"] for line in access}
    assert "/v1/trades/{trade_id}" in routes and "/v1/trades/{trade_id}/settle" in routes
    assert all(route is None or "?" not in route for route in routes)
    assert "after_sequence" not in log and "starting_after" not in log  # no query at all
    [last] = [line for line in access if line["request_id"] == last_request_id]
    assert last["status"] == 200 and last["route"] == "/v1/partners"
    assert last["role"] == "operator" and last["key_id"].startswith("zpk_")
    assert any(line["partner_id"] for line in access)  # partner calls name their partner
    assert {401, 404, 422, 400} <= {line["status"] for line in access}


def _json_line(line: str) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except ValueError:
        pytest.fail(f"a log line is not JSON: {line[:500]!r}")
    assert isinstance(parsed, dict), line
    return parsed

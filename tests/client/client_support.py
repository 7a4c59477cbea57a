"""Helpers of the client tests: a scripted fake API on ``httpx.MockTransport`` and JSON objects
shaped like the server's (API.md plus the fields ``zeropools.api.views`` adds).

``scripted(*steps)`` answers request N with step N (a response, or an exception to raise, as a
broken connection would); ``Harness`` records every request the client sent and every backoff
it slept, so retry tests assert on both without waiting.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from zeropools.client import Client

BASE_URL = "https://zeropools.test"
API_KEY = "zpk_test_client_unit_tests_key"
PROBLEM_TYPE = "application/problem+json"
CREATED_AT = "2026-11-23T09:15:00.123456Z"
HASH = "0" * 64

Handler = Callable[[httpx.Request], httpx.Response]
Step = httpx.Response | Exception


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """A JSON answer with a request id, as the server sends."""
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={
            "content-type": "application/json",
            "x-request-id": "req_fake",
            **(headers or {}),
        },
    )


def problem(
    status: int,
    code: str,
    *,
    headers: Mapping[str, str] | None = None,
    request_id: str = "req_problem",
    **extra: Any,
) -> httpx.Response:
    """An RFC 9457 problem document as the server sends it."""
    body = {
        "type": f"/errors/{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "detail": f"refused: {code}",
        "code": code,
        "request_id": request_id,
        **extra,
    }
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": PROBLEM_TYPE, "x-request-id": request_id, **(headers or {})},
    )


def page(data: list[dict[str, Any]], has_more: bool) -> httpx.Response:
    return json_response({"object": "list", "data": data, "has_more": has_more})


def scripted(*steps: Step) -> Handler:
    """A handler answering the Nth request with the Nth step; a step that is an exception is
    raised instead (a transport failure). Running out of steps fails the test."""
    queue = list(steps)

    def handle(request: httpx.Request) -> httpx.Response:
        assert queue, f"unexpected extra request {request.method} {request.url}"
        step = queue.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return handle


@dataclass(frozen=True)
class LiveApi:
    """A served deployment (``live_api`` in conftest): base URL and operator headers."""

    base_url: str
    operator: dict[str, str]


@dataclass
class Harness:
    """A Client over a MockTransport, with what it sent and how long it would have slept."""

    client: Client
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def header(self, name: str) -> list[str | None]:
        """The header ``name`` of every request sent, in order."""
        return [request.headers.get(name) for request in self.requests]

    def bodies(self) -> list[Any]:
        return [
            json.loads(request.content) if request.content else None for request in self.requests
        ]


@contextmanager
def harness(handler: Handler, **client_options: Any) -> Iterator[Harness]:
    """A Harness whose client sends to ``handler``; closed after the block."""
    sent: list[httpx.Request] = []
    slept: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return handler(request)

    options: dict[str, Any] = {"sleep": slept.append, "rng": random.Random(7), **client_options}
    client = Client(BASE_URL, API_KEY, transport=httpx.MockTransport(record), **options)
    with client:
        yield Harness(client, sent, slept)


# -- objects shaped like the server's ----------------------------------------------------


def entry_json(sequence: int, amount: str = "1.00", **overrides: Any) -> dict[str, Any]:
    """A ``ledger_entry`` (a pay-in credit unless overridden)."""
    return {
        "id": f"ple_{sequence:06d}",
        "object": "ledger_entry",
        "partner_id": "partner_fake",
        "type": "payin_credit",
        "currency": "EUR",
        "amount": amount,
        "available_after": f"{sequence}.00",
        "reserved_after": "0.00",
        "trade_id": None,
        "quote_id": None,
        "payin_id": f"pin_{sequence:06d}",
        "related_entry_id": None,
        "funding_reference": "RF18539007547034",
        "partner_order_id": None,
        "reason": None,
        "request_id": f"req_{sequence:06d}",
        "created_at": CREATED_AT,
        "sequence": sequence,
        "prev_hash": HASH,
        "hash": HASH,
        **overrides,
    }


def event_json(sequence: int, type: str = "payin.credited", **overrides: Any) -> dict[str, Any]:
    """An ``event`` to the API.md shape, about a ledger entry."""
    return {
        "id": f"evt_{sequence:06d}",
        "object": "event",
        "type": type,
        "sequence": sequence,
        "created_at": CREATED_AT,
        "request_id": f"req_{sequence:06d}",
        "data": {"object": entry_json(sequence)},
        **overrides,
    }


def quote_json(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "pq_test_1",
        "object": "quote",
        "partner_id": "partner_fake",
        "pool_id": "EUR-USDT",
        "source_amount": "100.00",
        "source_currency": "EUR",
        "target_amount": "107.420000",
        "target_asset": "USDT",
        "rate": "1.0796",
        "fee": "0.50",
        "fee_bps": 50,
        "partner_order_id": "order_1",
        "status": "open",
        "created_at": CREATED_AT,
        "expires_at": "2026-11-23T09:15:30.123456Z",
        **overrides,
    }


def trade_json(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "pt_test_1",
        "object": "trade",
        "partner_id": "partner_fake",
        "quote_id": "pq_test_1",
        "pool_id": "EUR-USDT",
        "partner_order_id": "order_1",
        "status": "debited",
        "balance_model": "debit",
        "source_amount": "100.00",
        "currency": "EUR",
        "target_amount": "107.420000",
        "asset": "USDT",
        "delivered_amount": None,
        "tx_hash": None,
        "failure_reason": None,
        "destination": None,
        "ledger_entry_ids": ["ple_000002"],
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
        **overrides,
    }


def balance_json(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "bal_fake_EUR",
        "object": "balance",
        "partner_id": "partner_fake",
        "currency": "EUR",
        "available": "900.00",
        "reserved": "0.00",
        "pending": "100.00",
        "total": "900.00",
        "low_balance_threshold": "50.00",
        "low": False,
        "as_of": CREATED_AT,
        **overrides,
    }

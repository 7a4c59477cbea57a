"""The cost of the security edge per request: access log, rate limits, body deadline, route
recorder (``api/access_log.py``, ``api/abuse.py``), and of the keyed key hash.

Method: the ASGI layers ``create_app`` adds for issue 14, stacked as in the app around an inner
app that answers 200 at once, called REQUESTS times in one event loop (no sockets, no
framework): the baseline is the request-context middleware that was there before (it names
the request; the access log now does), measured in the same run. The access log is
measured twice: with its logger off (as in tests) and writing JSON lines to a null stream (as
``serve`` does, minus the terminal). Rate limits on, every request with one of 100 keys from one
of 10 addresses. Then HMAC-SHA256 with a pepper against plain SHA-256 of a key (the auth path
computes one per request). Median of ROUNDS rounds, microseconds per request. Prints figures
only.

Usage: .venv/bin/python bench/edge.py [--requests 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import secrets
import statistics
import time
from typing import Any

from starlette.types import Receive, Scope, Send

from zeropools.api.abuse import BodyTimeoutMiddleware, RateLimitMiddleware
from zeropools.api.access_log import (
    ACCESS_LOGGER,
    AccessLogMiddleware,
    JsonFormatter,
    RouteRecorder,
)
from zeropools.api.middleware import RequestContextMiddleware
from zeropools.domain.keys import KeyHasher, legacy_digest
from zeropools.domain.partners import new_api_key_secret
from zeropools.domain.rate_limits import Rate, RateLimits

KEYS = [new_api_key_secret("test").encode() for _ in range(100)]


async def inner(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def before(app: Any) -> Any:
    return RequestContextMiddleware(app)


def edge(app: Any) -> Any:
    app = RequestContextMiddleware(RouteRecorder(app))
    app = BodyTimeoutMiddleware(app, timeout_s=60)
    limits = RateLimits(Rate(1e5, 1e6), Rate(1e5, 1e6), Rate(0.5, 20))
    app = RateLimitMiddleware(app, limits=limits)
    return AccessLogMiddleware(app)


async def _drive(app: Any, requests: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    started = time.perf_counter()
    for n in range(requests):
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/v1/capabilities",
            "headers": [(b"authorization", b"Bearer " + KEYS[n % 100])],
            "client": (f"10.0.0.{n % 10}", 50000),
        }
        await app(scope, receive, send)
    return (time.perf_counter() - started) / requests * 1e6


def _hash_us(fn: Any, requests: int) -> float:
    secret = new_api_key_secret("test")
    started = time.perf_counter()
    for _ in range(requests):
        fn(secret)
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    access = logging.getLogger(ACCESS_LOGGER)
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonFormatter())

    figures: dict[str, list[float]] = {"before": [], "edge, log off": [], "edge, log JSON": []}
    for _ in range(args.rounds):
        figures["before"].append(asyncio.run(_drive(before(inner), args.requests)))
        access.setLevel(logging.WARNING)
        figures["edge, log off"].append(asyncio.run(_drive(edge(inner), args.requests)))
        access.setLevel(logging.INFO)
        access.addHandler(handler)
        handler.stream = io.StringIO()
        figures["edge, log JSON"].append(asyncio.run(_drive(edge(inner), args.requests)))
        access.removeHandler(handler)
    for name, values in figures.items():
        print(f"{name:16} {statistics.median(values):7.1f} us/request")
    hasher = KeyHasher(secrets.token_bytes(32))
    sha = statistics.median(_hash_us(legacy_digest, args.requests) for _ in range(args.rounds))
    keyed = statistics.median(_hash_us(hasher.digest, args.requests) for _ in range(args.rounds))
    print(f"{'sha256(key)':16} {sha:7.2f} us; hmac-sha256(pepper, key) {keyed:.2f} us")


if __name__ == "__main__":
    main()

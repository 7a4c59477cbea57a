"""Abuse limits at the door (pure ASGI): rate limits per API key and per client address, a
limit on failed authentications per address, and a deadline for reading a request body.

Refusals are RFC 9457 problems: 429 ``rate_limited`` with ``Retry-After``, 408
``request_timeout``. They run before the request context buffers the body, so a flood costs no
body reads and no database round trip. The request id comes from ``scope["state"]`` (set by
the access log, outermost), so these answers carry one like every other.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zeropools.domain import ids
from zeropools.domain.rate_limits import Buckets, RateLimits
from zeropools.representations.encoding import json_bytes
from zeropools.representations.problems import PROBLEM_JSON, problem_body

# process managers poll it; it reads nothing and must answer while a client is throttled
_UNLIMITED_PATHS = frozenset({"/healthz"})
_UNAUTHENTICATED = 401
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def _request_id(scope: Scope) -> str:
    state: dict[str, str] = scope.setdefault("state", {})
    return state.setdefault("request_id", ids.new_id(ids.REQUEST))


async def _refuse(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]],
) -> None:
    request_id = _request_id(scope)
    body = json_bytes(problem_body(request_id, status, code, title, detail))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


def key_bucket_name(authorization: bytes) -> str:
    """A presented key's bucket: a digest of the header, never the secret itself (the buckets
    are in memory, but a heap dump should not hand out keys)."""
    return hashlib.blake2b(authorization, digest_size=16).hexdigest()


class RateLimitMiddleware:
    """429 ``rate_limited`` once a bucket is empty: the client address's failed
    authentications (every 401 answered to it takes a token; while none is left, every request
    from it is refused before authentication, so keys cannot be guessed quickly), the address's
    requests, and the presented key's requests.

    Buckets are per process (``domain.rate_limits``). Behind a reverse proxy the client address
    is the proxy's unless uvicorn trusts its ``X-Forwarded-For`` (``FORWARDED_ALLOW_IPS``).
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: RateLimits,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.limits = limits
        self.clock = clock
        self.failures = Buckets(limits.auth_failures_per_address)
        self.addresses = Buckets(limits.per_address)
        self.keys = Buckets(limits.per_key)
        # read on every request: plain attributes, not properties
        self.failures_on = limits.auth_failures_per_address.on
        self.addresses_on = limits.per_address.on
        self.keys_on = limits.per_key.on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        now = self.clock()
        client = scope.get("client")
        address = client[0] if client else "unknown"
        refused = self._check(scope, address, now)
        if refused is not None:
            wait_s, why = refused
            await _refuse(
                scope,
                send,
                429,
                "rate_limited",
                "Too many requests",
                f"{why}; retry after {wait_s} s.",
                [(b"retry-after", str(wait_s).encode())],
            )
            return
        if not self.failures_on:
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == _UNAUTHENTICATED:
                self.failures.charge(address, self.clock())
            await send(message)

        await self.app(scope, receive, counting_send)

    def _check(self, scope: Scope, address: str, now: float) -> tuple[int, str] | None:
        if self.failures_on:
            wait_s = self.failures.empty(address, now)
            if wait_s is not None:
                return wait_s, "Too many failed authentications from this address"
        if self.addresses_on:
            wait_s = self.addresses.take(address, now)
            if wait_s is not None:
                return wait_s, "Too many requests from this address"
        if self.keys_on:
            authorization = _header(scope, b"authorization")
            if authorization:
                wait_s = self.keys.take(key_bucket_name(authorization), now)
                if wait_s is not None:
                    return wait_s, "Too many requests for this API key"
        return None


class BodyTimeoutMiddleware:
    """408 ``request_timeout`` when a request body has not fully arrived ``timeout_s`` after the
    app first asked for it: a client trickling a body (or stopping half-way) cannot hold a
    worker and a connection forever.

    On the deadline the app is told the client disconnected (it stops reading and answers
    whatever it answers to a cut body); that answer is replaced by the 408, sent with
    ``Connection: close`` so the server drops the half-read connection.
    """

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY_METHODS:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        timed_out = False
        body_done = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal deadline, timed_out, body_done
            if body_done or timed_out:
                return await receive()  # after the body: only a disconnect can come
            if deadline is None:
                deadline = loop.time() + self.timeout_s
            try:
                # a timer on this task, not ``wait_for``: on 3.11 that wraps every receive in a
                # task of its own (~3% of a quote+trade's CPU), though the body is usually there
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out and not started:
                return  # the app's answer to a cut body: the 408 below replaces it
            started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except Exception:
            if not timed_out or started:
                raise
        if timed_out and not started:
            await _refuse(
                scope,
                send,
                408,
                "request_timeout",
                "Request timeout",
                f"The request body did not arrive within {self.timeout_s:g} s; send it whole "
                "and promptly.",
                [(b"connection", b"close")],
            )

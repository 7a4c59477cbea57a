"""Pure ASGI middleware: request ids, the body-size limit, and the last-resort 500.

Written as raw ASGI rather than ``BaseHTTPMiddleware`` because it runs on every request and the
latter costs a task and a queue per call. It sits inside Starlette's error middleware, so it is
also where an unexpected exception becomes a problem document that still carries the request id.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zeropools.domain import ids, limits
from zeropools.representations.encoding import json_bytes
from zeropools.representations.problems import problem_body

log = logging.getLogger("zeropools.api")

Limits = Callable[[str], int]


def default_body_limit(path: str) -> int:
    if path == "/v1/payins/import":
        return limits.IMPORT_FILE_BYTES_MAX
    if path in _STREAMED_BODY_PATHS:
        return limits.RECONCILIATION_FILE_BYTES_MAX
    # the dashboard's upload forms take the same files as the API's upload routes
    if path == "/dashboard/operator/payins/import":
        return limits.IMPORT_FILE_BYTES_MAX
    if path.startswith("/dashboard/partners/") and path.endswith("/reconciliation/match"):
        return limits.RECONCILIATION_FILE_BYTES_MAX
    return limits.REQUEST_BODY_BYTES_MAX


def _problem(status: int, code: str, title: str, detail: str, request_id: str) -> bytes:
    return json_bytes(problem_body(request_id, status, code, title, detail))


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, body_limit: Limits = default_body_limit) -> None:
        self.app = app
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        # the access log (outermost) names the request first; its line and ours must agree
        request_id = state.get("request_id") or ids.new_id(ids.REQUEST)
        state["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                # a replayed idempotent response carries its original id; keep that one
                replayed = scope["state"].get("replayed_request_id")
                headers.append((b"x-request-id", replayed.encode()) if replayed else header)
                message = {**message, "headers": headers}
            await send(message)

        async def fail(status: int, body: bytes) -> None:
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"application/problem+json")],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})

        if b"%00" in scope.get("raw_path", b"") or b"%00" in scope.get("query_string", b""):
            # NUL is in no id or filter (PostgreSQL cannot even store it): no such object
            await fail(
                404,
                _problem(404, "not_found", "No such object", "No such object.", request_id),
            )
            return
        if _json_body(scope):
            scope = _as_json(scope)
        limit = self.body_limit(scope["path"])
        declared = _content_length(scope)
        too_large = _problem(
            413,
            "payload_too_large",
            "Payload too large",
            f"The body is larger than {limit} bytes, the most this endpoint accepts.",
            request_id,
        )
        if declared is not None and declared > limit:
            await fail(413, too_large)
            return
        if scope["path"] in _STREAMED_BODY_PATHS and scope["method"] == "POST":
            # the route reads the body as it arrives (and counts it against the same limit)
            await self._run(scope, receive, send_with_id, fail, request_id, lambda: started)
            return
        # Buffer the body (bounded by the limit) before the app sees it: a limit hit inside
        # the framework's own body reader would surface as a generic 400.
        chunks: list[bytes] = []
        received = 0
        more = scope["method"] not in ("GET", "HEAD", "DELETE", "OPTIONS")
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await fail(413, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _json_body(scope) and _has_lone_surrogate(body):
            await fail(
                400,
                _problem(
                    400,
                    "malformed_json",
                    "Body is not valid JSON",
                    "The body contains a lone UTF-16 surrogate escape (such as \\ud800), which "
                    "is not a Unicode character; send UTF-8 text.",
                    request_id,
                ),
            )
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self._run(scope, replay, send_with_id, fail, request_id, lambda: started)

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        fail: Callable[[int, bytes], Awaitable[None]],
        request_id: str,
        started: Callable[[], bool],
    ) -> None:
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            return  # the client left (or its body timed out, api.abuse): no bug, no answer
        except Exception:
            log.exception("unhandled error in %s", request_id)
            if not started():
                await fail(
                    500,
                    _problem(
                        500,
                        "internal_error",
                        "Internal error",
                        "Something failed on our side; nothing was committed. Quote the "
                        "request_id to support.",
                        request_id,
                    ),
                )


_JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})
# bodies that are files, not JSON; the streamed ones reach the route unbuffered
_STREAMED_BODY_PATHS = frozenset({"/v1/reconciliation/match"})
_RAW_BODY_PATHS = frozenset({"/v1/payins/import"}) | _STREAMED_BODY_PATHS
_API_PREFIX = "/v1/"


def _json_body(scope: Scope) -> bool:
    """A body the API reads as JSON: writes under /v1/ except the file uploads. Pages outside
    the API (the dashboard's HTML forms) keep the content type they were sent with."""
    path = scope["path"]
    return (
        scope["method"] in _JSON_METHODS
        and path.startswith(_API_PREFIX)
        and path not in _RAW_BODY_PATHS
    )


def _as_json(scope: Scope) -> Scope:
    """Every body of this API is JSON, whatever ``Content-Type`` says.

    ``curl -d '{...}'`` sends ``application/x-www-form-urlencoded``; rather than answer a valid
    JSON body with a confusing schema error, it is read as the JSON it is (a body that is not
    JSON still gets 400 ``malformed_json``).
    """
    headers = [(k, v) for k, v in scope.get("headers", []) if k != b"content-type"]
    headers.append((b"content-type", b"application/json"))
    return {**scope, "headers": headers}


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(body: bytes) -> bool:
    """Whether a JSON body holds a string with an unpaired surrogate (``"1\\ud800"``).

    ``json.loads`` accepts such escapes and yields strings that cannot be encoded, so every
    later step (the database, a log line, the response) would fail on them: they are refused at
    the door. A paired escape (an emoji) decodes to one real character and passes. Only bodies
    with a surrogate escape at all are parsed here, so the common path costs one regex scan.
    """
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return False  # not JSON: the framework's parser answers malformed_json itself
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False

"""uvicorn's HTTP protocol with a deadline for the request line and headers.

uvicorn arms no timer until a first response is complete, and any byte received cancels its
keep-alive timer: a client that sends part of a request line or headers, slowly or never again,
holds a connection (a file descriptor, a slot under ``limit_concurrency``) forever. The ASGI
app cannot help: it is only called once the headers are complete. So the protocol itself is
extended: from the moment a connection opens, and again after each response, the headers must
be complete within ``header_timeout_s``, else the connection gets a 408 problem and is closed.
(Bodies have their own deadline in the app: ``api.abuse.BodyTimeoutMiddleware``.)
"""

from __future__ import annotations

import asyncio
import gc
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from zeropools.domain import ids, limits
from zeropools.representations.encoding import json_bytes
from zeropools.representations.problems import PROBLEM_JSON, problem_body

log = logging.getLogger("zeropools.access")


def _timeout_response(header_timeout_s: float) -> bytes:
    request_id = ids.new_id(ids.REQUEST)
    body = json_bytes(
        problem_body(
            request_id,
            408,
            "request_timeout",
            "Request timeout",
            f"The request line and headers did not arrive within {header_timeout_s:g} s.",
        )
    )
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        f"content-type: {PROBLEM_JSON}\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-request-id: {request_id}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol with the header deadline. A class at module level (not
    made per call) so ``serve --workers N`` can hand it to worker processes by name; its
    deadline is a class setting, set once per process by ``guarded_http_protocol``."""

    header_timeout_s: float = limits.REQUEST_HEADER_TIMEOUT_S
    _header_timer: asyncio.TimerHandle | None = None

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        log.info(
            "header timeout",
            extra={"fields": {"client": self.client[0] if self.client else None}},
        )
        self.transport.write(_timeout_response(self.header_timeout_s))
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # an idle keep-alive connection is closed by uvicorn's own timer; a connection
        # that starts the next request must finish its headers in time, like the first
        if not self.transport.is_closing() and not self.pipeline:
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)


def guarded_http_protocol(header_timeout_s: float) -> type[asyncio.Protocol]:
    """The uvicorn ``http=`` protocol class whose connections must send complete request
    headers within ``header_timeout_s`` of opening (or of their previous response); the
    deadline holds for this process (one server per process)."""
    HeaderTimeoutProtocol.header_timeout_s = header_timeout_s
    return HeaderTimeoutProtocol


# Young objects a collection of the youngest generation waits for (CPython's default: 700). A
# request allocates thousands of short-lived objects (models, dicts, rows), nearly all freed by
# reference counting; at 700 the collector ran several times per request for little garbage.
GC_YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """Before serving: move what start-up built (modules, the app, the routes) out of the
    collector's sight (``gc.freeze``), so no full collection walks it again, and collect the
    youngest generation less often. Cyclic garbage still goes, only in larger rounds."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)

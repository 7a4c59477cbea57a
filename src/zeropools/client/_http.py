"""One HTTP exchange with retries: build the request once, send it until it is answered for good,
turn a problem document into an ApiError and a JSON body into Python values without floats.

The request (body bytes, headers, Idempotency-Key) is built once and sent unchanged on every
attempt, so a retried money-moving POST is the same request to the server's idempotency check.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

import httpx

from zeropools.client import _retry
from zeropools.client.errors import ApiConnectionError, ApiError, UnexpectedResponse, api_error

CLIENT_VERSION = "0.1.0"
USER_AGENT = f"zeropools-python/{CLIENT_VERSION}"
JSON_TYPE = "application/json"
PROBLEM_TYPE = "application/problem+json"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REQUEST_ID_HEADER = "X-Request-Id"

Sleep = Callable[[float], None]


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number this API sends")


def loads(text: str | bytes) -> Any:
    """Parse JSON so that no number becomes a float: decimals are Decimal, integers int, and
    ``NaN``/``Infinity`` are refused (ValueError)."""
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)


@dataclass(frozen=True)
class Call:
    """One API request as the methods describe it; ``body`` is JSON-ready (money already text)."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    body: Mapping[str, Any] | None = None
    idempotency_key: str | None = None

    @property
    def replayable(self) -> bool:
        """Safe to send twice: a GET, or a request the server deduplicates by its key."""
        return self.method == "GET" or self.idempotency_key is not None


class Session:
    """Sends Calls to one API with one key, retrying as ``_retry`` allows."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float,
        max_retries: int,
        transport: httpx.BaseTransport | None,
        sleep: Sleep,
        rng: random.Random,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.max_retries = max_retries
        self._sleep = sleep
        self._rng = rng
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout_s,
            transport=transport,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": f"{JSON_TYPE}, {PROBLEM_TYPE}",
                "User-Agent": USER_AGENT,
            },
        )

    def close(self) -> None:
        self._http.close()

    def request(self, call: Call) -> Any:
        """Send ``call`` until answered for good; the parsed 2xx JSON body.

        Raises ApiError for a final non-2xx answer, ApiConnectionError when the transport kept
        failing (or failed in a way that makes repeating unsafe), UnexpectedResponse for a 2xx
        body that is not JSON.
        """
        request = self._build(call)
        retry = 0
        while True:
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                if retry >= self.max_retries or not _retry.may_retry_exception(
                    exc, replayable=call.replayable
                ):
                    raise ApiConnectionError(
                        f"{call.method} {call.path}: {type(exc).__name__}: {exc}",
                        attempts=retry + 1,
                        idempotency_key=call.idempotency_key,
                    ) from exc
                retry += 1
                wait = _retry.backoff_s(retry, self._rng)
            else:
                if response.is_success:
                    return self._body(call, response)
                error = self._error(response)
                error.idempotency_key = call.idempotency_key
                if retry >= self.max_retries or not _retry.may_retry_status(
                    error.status, error.code, replayable=call.replayable
                ):
                    raise error
                retry += 1
                maybe_wait = _retry.wait_s(retry, error.retry_after_s, self._rng)
                if maybe_wait is None:  # the server asks for longer than we wait in a call
                    raise error
                wait = maybe_wait
            self._sleep(wait)

    def _build(self, call: Call) -> httpx.Request:
        headers: dict[str, str] = {}
        content: bytes | None = None
        if call.body is not None:
            content = json.dumps(call.body, separators=(",", ":")).encode()
            headers["Content-Type"] = JSON_TYPE
        if call.idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = call.idempotency_key
        return self._http.build_request(
            call.method, call.path, params=call.params, content=content, headers=headers
        )

    @staticmethod
    def _body(call: Call, response: httpx.Response) -> Any:
        try:
            return loads(response.content)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise UnexpectedResponse(
                f"{call.method} {call.path}: {response.status_code} body is not JSON: {exc}"
            ) from exc

    @staticmethod
    def _error(response: httpx.Response) -> ApiError:
        problem: Mapping[str, Any] | None = None
        try:
            parsed = loads(response.content)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            problem = parsed
        return api_error(
            response.status_code,
            problem,
            request_id=response.headers.get(REQUEST_ID_HEADER),
            text=response.text if problem is None else "",
            retry_after_s=_retry.retry_after_s(response.headers.get("Retry-After")),
        )


def default_sleep(seconds: float) -> None:
    """``time.sleep``, named so the Client's signature reads well."""
    time.sleep(seconds)

"""When a request may be sent again, and how long to wait first.

The rules (docs/client.md "Retries"):

- A request is *replayable* when repeating it cannot do anything twice: a GET, or a POST that
  carries an ``Idempotency-Key`` (the server replays the first answer for the same key).
- Replayable requests are retried on transport failures (connect, read, write, timeouts, a
  connection closed without an answer), on 409 ``idempotency_key_in_use`` (the first request
  with the key is still running), 429, 503 and any other 5xx.
- Other requests (``POST /v1/quotes``) are retried only when the request provably never left:
  the connection could not be made (connect error or timeout, no free pooled connection).
- Between attempts: exponential backoff with jitter, or the server's ``Retry-After`` when it
  sends one (seconds or an HTTP date). A ``Retry-After`` longer than ``RETRY_AFTER_MAX_S`` is
  not waited for: the error is raised with ``retry_after_s`` so the caller can reschedule.

Pure functions of their inputs (the jitter's random source is passed in), so the tests drive
them without a network or a clock.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

RETRIES_MAX = 3  # default retries after the first attempt (4 attempts in all)
BACKOFF_BASE_S = 0.5  # the first retry waits about this long; doubles on each later one
BACKOFF_CAP_S = 8.0  # no computed backoff waits longer than this
RETRY_AFTER_MAX_S = 60.0  # a server asking for a longer wait than this is not waited for

STATUS_CONFLICT = 409
STATUS_TOO_MANY_REQUESTS = 429
STATUS_SERVER_ERROR_MIN = 500
CODE_IDEMPOTENCY_KEY_IN_USE = "idempotency_key_in_use"

# The request never reached the server: safe to repeat whatever it was.
NEVER_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# The connection failed at some point: the server may or may not have acted on the request.
TRANSIENT: tuple[type[httpx.TransportError], ...] = (
    httpx.NetworkError,  # connect, read, write, close errors
    httpx.TimeoutException,  # connect, read, write, pool timeouts
    httpx.RemoteProtocolError,  # the server closed the connection without an answer
)


def may_retry_exception(exc: httpx.TransportError, *, replayable: bool) -> bool:
    """Whether a request that failed with ``exc`` may be sent again."""
    if isinstance(exc, NEVER_SENT):
        return True
    return replayable and isinstance(exc, TRANSIENT)


def may_retry_status(status: int, code: str | None, *, replayable: bool) -> bool:
    """Whether a request answered with ``status`` (problem ``code``) may be sent again."""
    if not replayable:
        return False
    if status == STATUS_CONFLICT:
        return code == CODE_IDEMPOTENCY_KEY_IN_USE
    return status == STATUS_TOO_MANY_REQUESTS or status >= STATUS_SERVER_ERROR_MIN


def backoff_s(retry: int, rng: random.Random) -> float:
    """The wait before retry number ``retry`` (1 for the first retry), with "equal jitter".

    Half of the exponential step is fixed, the other half random, so clients that failed
    together spread out but none retries at once.
    """
    step = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** (retry - 1))
    return step / 2 + rng.uniform(0, step / 2)


def retry_after_s(header: str | None, now: datetime | None = None) -> float | None:
    """The ``Retry-After`` header in seconds (RFC 9110: delay-seconds or an HTTP date).

    None when absent or unreadable; a date in the past is 0.
    """
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return float(int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


def wait_s(retry: int, retry_after: float | None, rng: random.Random) -> float | None:
    """How long to wait before retry number ``retry``; None when the server's ``Retry-After``
    is beyond ``RETRY_AFTER_MAX_S`` and the caller should give up instead."""
    if retry_after is None:
        return backoff_s(retry, rng)
    if retry_after > RETRY_AFTER_MAX_S:
        return None
    return retry_after

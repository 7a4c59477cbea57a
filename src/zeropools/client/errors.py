"""What the client raises: one base class, API refusals with their problem document, transport
failures, unexpected answers and failed webhook verification.

Every API refusal is an :class:`ApiError` built from the RFC 9457 ``application/problem+json``
body, so callers branch on the stable ``code`` (or catch a subclass such as
:class:`InsufficientBalance`) and quote ``request_id`` to support. Codes the client does not know
yet still arrive as a plain :class:`ApiError`; nothing is lost, the whole document is in
``problem``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

# A non-problem error body (a proxy's HTML page, say) is quoted in `detail` up to this length.
ERROR_TEXT_CHARS_MAX = 500
# The code given to an error answer that carries no problem document; the server uses the same
# code for generic HTTP errors.
CODE_HTTP_ERROR = "http_error"

_MONEY = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class ZeropoolsError(Exception):
    """Base class of everything this client raises on purpose."""


class ApiError(ZeropoolsError):
    """The API answered with a non-2xx status.

    ``problem`` is the whole problem document (an empty dict when the body was not one);
    ``code``, ``detail``, ``request_id``, ``title`` and ``type`` are read from it, ``status`` is
    the HTTP status. ``retry_after_s`` is the ``Retry-After`` header in seconds, when given;
    ``idempotency_key`` the key the request was sent with, when it had one.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        detail: str,
        request_id: str | None,
        problem: Mapping[str, Any],
        retry_after_s: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.problem: dict[str, Any] = dict(problem)
        self.retry_after_s = retry_after_s
        # the request's Idempotency-Key, if it had one: retry with it to get the same answer
        self.idempotency_key: str | None = None
        super().__init__(f"{status} {code}: {detail} (request_id={request_id})")

    @property
    def title(self) -> str | None:
        """The problem's short human title, if any."""
        title = self.problem.get("title")
        return title if isinstance(title, str) else None

    @property
    def type(self) -> str | None:
        """The problem's ``type`` URI reference (``/errors/{code}``), if any."""
        kind = self.problem.get("type")
        return kind if isinstance(kind, str) else None

    def _money(self, name: str) -> Decimal | None:
        """A decimal-string field of the problem as a Decimal; None when absent or malformed."""
        value = self.problem.get(name)
        if not isinstance(value, str) or _MONEY.fullmatch(value) is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            return None


class Unauthenticated(ApiError):
    """401 ``unauthenticated``: missing, unknown, revoked or wrong-mode key."""


class Forbidden(ApiError):
    """403 ``forbidden``: the key's role may not do this."""


class NotFound(ApiError):
    """404 ``not_found``: unknown id, or another partner's id."""


class InsufficientBalance(ApiError):
    """409 ``insufficient_balance``: executing would make ``available`` negative.

    The problem document names the currency and the amounts; they are offered as Decimals.
    """

    @property
    def currency(self) -> str | None:
        value = self.problem.get("currency")
        return value if isinstance(value, str) else None

    @property
    def requested(self) -> Decimal | None:
        return self._money("requested")

    @property
    def available(self) -> Decimal | None:
        return self._money("available")

    @property
    def shortfall(self) -> Decimal | None:
        return self._money("shortfall")


class QuoteExpired(ApiError):
    """409 ``quote_expired``: ask for a fresh quote."""


class QuoteAlreadyUsed(ApiError):
    """409 ``quote_already_used``: ask for a fresh quote."""


class OrderAlreadyExecuted(ApiError):
    """409 ``order_already_executed``: the order has an open or settled trade (``trade_id``)."""

    @property
    def trade_id(self) -> str | None:
        value = self.problem.get("trade_id")
        return value if isinstance(value, str) else None


class InvalidTransition(ApiError):
    """409 ``invalid_transition``: the object's status does not allow this action."""


class IdempotencyKeyInUse(ApiError):
    """409 ``idempotency_key_in_use``: a request with this key is still being processed."""


class IdempotencyKeyReused(ApiError):
    """422 ``idempotency_key_reused``: the key was used before with a different request."""


class ValidationError(ApiError):
    """422 ``validation_error`` and the money and pool rules (``amount_invalid``, ...)."""


class RateLimited(ApiError):
    """429 ``rate_limited``: too many requests for this key; see ``retry_after_s``."""


class Overloaded(ApiError):
    """503 ``overloaded``: the partner's queue is full, nothing was done; see ``retry_after_s``."""


# Stable codes of API.md that get their own class; any other code is a plain ApiError.
ERRORS_BY_CODE: dict[str, type[ApiError]] = {
    "unauthenticated": Unauthenticated,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "insufficient_balance": InsufficientBalance,
    "quote_expired": QuoteExpired,
    "quote_already_used": QuoteAlreadyUsed,
    "order_already_executed": OrderAlreadyExecuted,
    "invalid_transition": InvalidTransition,
    "idempotency_key_in_use": IdempotencyKeyInUse,
    "idempotency_key_reused": IdempotencyKeyReused,
    "validation_error": ValidationError,
    "amount_invalid": ValidationError,
    "amount_precision_exceeded": ValidationError,
    "currency_not_enabled": ValidationError,
    "pool_disabled": ValidationError,
    "amount_out_of_range": ValidationError,
    "rate_limited": RateLimited,
    "overloaded": Overloaded,
}


def api_error(
    status: int,
    problem: Mapping[str, Any] | None,
    *,
    request_id: str | None,
    text: str = "",
    retry_after_s: float | None = None,
) -> ApiError:
    """The ApiError (subclass by ``code``) for a non-2xx answer.

    ``problem`` is the parsed problem document, or None when the body was not one; then the code
    is ``http_error`` and ``detail`` quotes the start of the body ``text``. The request id is the
    document's, else the ``X-Request-Id`` header given as ``request_id``.
    """
    doc: Mapping[str, Any] = problem or {}
    code = doc.get("code")
    detail = doc.get("detail")
    doc_request_id = doc.get("request_id")
    if not isinstance(code, str) or not code:
        code = CODE_HTTP_ERROR
    if not isinstance(detail, str):
        detail = text[:ERROR_TEXT_CHARS_MAX] or f"HTTP {status}"
    if isinstance(doc_request_id, str) and doc_request_id:
        request_id = doc_request_id
    cls = ERRORS_BY_CODE.get(code, ApiError)
    return cls(
        status=status,
        code=code,
        detail=detail,
        request_id=request_id,
        problem=doc,
        retry_after_s=retry_after_s,
    )


class ApiConnectionError(ZeropoolsError):
    """The API could not be reached, or the connection broke, and retrying did not help.

    The underlying ``httpx`` exception is the ``__cause__``. Whether the request reached the
    server is unknown unless it never connected; a money-moving call may be repeated safely
    with the same key, ``idempotency_key`` here (the server replays the first answer).
    """

    def __init__(self, message: str, *, attempts: int, idempotency_key: str | None) -> None:
        self.attempts = attempts
        self.idempotency_key = idempotency_key  # send it again with the same request
        super().__init__(message)


class UnexpectedResponse(ZeropoolsError):
    """A 2xx answer that is not what the API contract says (not JSON, a field missing or of
    the wrong type, a page that claims more but is empty). A client/server version mismatch
    or a proxy in the way, never something a retry fixes."""


class WebhookVerificationError(ZeropoolsError):
    """A webhook delivery failed verification: a header missing or malformed, the timestamp
    outside the tolerance, no signature matching, or a body that is not a JSON object.
    Answer such a request with 400 and do not act on it."""

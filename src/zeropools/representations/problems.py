"""RFC 9457 problem documents: the one place an error becomes a body and a status.

Used by the API's exception handlers, by its middleware (413, 404, 500 before any route runs)
and by the command entry point, which stores a refusal's problem document as an idempotent
response; so a replayed refusal is byte for byte what the first answer was.
"""

from __future__ import annotations

from typing import Any

from zeropools.domain import errors as e

PROBLEM_JSON = "application/problem+json"

STATUS: dict[type[e.DomainError], int] = {
    e.MalformedJson: 400,
    e.IdempotencyKeyRequired: 400,
    e.IdempotencyKeyInvalid: 400,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.InsufficientBalance: 409,
    e.QuoteExpired: 409,
    e.QuoteAlreadyUsed: 409,
    e.InvalidTransition: 409,
    e.OrderAlreadyExecuted: 409,
    e.LastOperatorKey: 409,
    e.IdempotencyKeyInUse: 409,
    e.PayinConflict: 409,
    e.PeriodHasOpenItems: 409,
    e.PeriodNotEnded: 409,
    e.SigningKeyUnavailable: 409,
    e.PayloadTooLarge: 413,
    e.ValidationFailed: 422,
    e.AmountInvalid: 422,
    e.AmountPrecisionExceeded: 422,
    e.CurrencyNotEnabled: 422,
    e.PoolDisabled: 422,
    e.AmountOutOfRange: 422,
    e.IdempotencyKeyReused: 422,
}


# Codes answered outside the DomainError map: by the API's own handlers and middleware, or
# named in API.md for endpoints still to come. With STATUS's they make Problem.code's enum,
# so a generated client knows every code it can meet.
OTHER_CODES = frozenset(
    {
        "overloaded",
        "internal_error",
        "method_not_allowed",
        "http_error",
        "rate_limited",
        "request_timeout",
        "order_already_executed",
        "period_not_ended",
        "last_operator_key",
    }
)
PROBLEM_CODES = tuple(sorted({cls.code for cls in STATUS} | OTHER_CODES))


def problem_body(
    request_id: str, status: int, code: str, title: str, detail: str, **extra: Any
) -> dict[str, Any]:
    return {
        "type": f"/errors/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
        **extra,
    }


def domain_problem_body(exc: e.DomainError, request_id: str) -> tuple[int, dict[str, Any]]:
    status = status_of(exc)
    return status, problem_body(request_id, status, exc.code, exc.title, exc.detail, **exc.extra)


def status_of(exc: e.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    raise AssertionError(f"{type(exc).__name__} is not mapped to an HTTP status")

"""The world's mistakes, as typed errors with a stable snake_case ``code``.

Our own bugs are ``assert``s; everything a caller can cause is a ``DomainError`` subclass.
HTTP statuses live in exactly one place: ``zeropools.api.errors``. ``extra`` carries the fields
that help the caller (``currency``, ``shortfall``, ...) and goes into the problem body as is.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "Request refused"
    # The "typed it wrong" class (API.md "Idempotency"): the request could not even be read as
    # a valid instance of its operation. Such a refusal is not stored under an Idempotency-Key,
    # so the corrected request may reuse the key; business refusals (insufficient_balance,
    # quote_expired, not_found, ...) are stored and replayed.
    input_validation: ClassVar[bool] = False

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = extra


class MalformedJson(DomainError):
    code = "malformed_json"
    title = "Body is not valid JSON"
    input_validation = True


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    title = "Idempotency-Key header required"
    input_validation = True


class IdempotencyKeyInvalid(DomainError):
    """A key was sent but is not 1..255 printable characters: a typo, not a missing key."""

    code = "idempotency_key_invalid"
    title = "Idempotency-Key header invalid"
    input_validation = True


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Missing or invalid API key"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Not allowed for this role"


class NotFound(DomainError):
    code = "not_found"
    title = "No such object"


class InsufficientBalance(DomainError):
    code = "insufficient_balance"
    title = "Insufficient balance"


class QuoteExpired(DomainError):
    code = "quote_expired"
    title = "Quote expired"


class QuoteAlreadyUsed(DomainError):
    code = "quote_already_used"
    title = "Quote already used"


class InvalidTransition(DomainError):
    code = "invalid_transition"
    title = "Transition not allowed"


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    title = "Idempotency key is still being processed"


class PayinConflict(DomainError):
    code = "payin_conflict"
    title = "Pay-in conflicts with a known bank transaction"


class OrderAlreadyExecuted(DomainError):
    code = "order_already_executed"
    title = "Order already executed"


class LastOperatorKey(DomainError):
    code = "last_operator_key"
    title = "Last active operator key"


class PeriodHasOpenItems(DomainError):
    code = "period_has_open_items"
    title = "Period has unreconciled items"


class PeriodNotEnded(DomainError):
    code = "period_not_ended"
    title = "Period has not ended yet"


class SigningKeyUnavailable(DomainError):
    """No private key to sign a checkpoint with (``ZEROPOOLS_SIGNING_KEY_FILE``)."""

    code = "signing_key_unavailable"
    title = "No signing key configured"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    title = "Payload too large"


class ValidationFailed(DomainError):
    """Schema violations; ``extra['errors']`` is a list of ``{"field", "message"}``."""

    code = "validation_error"
    title = "Request does not match the schema"
    input_validation = True

    @classmethod
    def field(cls, field: str, message: str, detail: str | None = None) -> ValidationFailed:
        """One field's problem; ``detail`` defaults to ``"field: message"``."""
        return cls(detail or f"{field}: {message}", errors=[{"field": field, "message": message}])


class AmountInvalid(DomainError):
    code = "amount_invalid"
    title = "Amount is not a valid decimal string"
    input_validation = True


class AmountPrecisionExceeded(DomainError):
    code = "amount_precision_exceeded"
    title = "Amount has more decimals than the currency allows"
    input_validation = True


class CurrencyNotEnabled(DomainError):
    code = "currency_not_enabled"
    title = "Currency not enabled"


class PoolDisabled(DomainError):
    code = "pool_disabled"
    title = "Pool disabled"


class AmountOutOfRange(DomainError):
    code = "amount_out_of_range"
    title = "Amount out of range"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    title = "Idempotency key reused with a different request"


def all_error_classes() -> list[type[DomainError]]:
    """Every concrete error class, so a test can prove each one is mapped to HTTP."""
    found: list[type[DomainError]] = []
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


class Overloaded(Exception):
    """The partner's command queue is full: nothing was done, retry after ``retry_after_s``.

    Not a ``DomainError``: it is no mistake of the caller's, it is raised before any
    transaction (so it is never stored as an idempotent response), and it maps to 503.
    """

    code: ClassVar[str] = "overloaded"
    title: ClassVar[str] = "Overloaded"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s

"""zeropools Python client: the partner API as typed calls, and webhook verification.

Usable without the server: it imports only the standard library and ``httpx``, never another
``zeropools`` module (a test checks that in a fresh interpreter). See docs/client.md.

    from decimal import Decimal
    from zeropools.client import Client, InsufficientBalance

    with Client("https://api.example", "zpk_live_...") as zp:
        quote = zp.create_quote("EUR-USDT", Decimal("100.00"), partner_order_id="order_1")
        try:
            trade = zp.execute(quote.id, "order_1")
        except InsufficientBalance as refused:
            print("short by", refused.shortfall, refused.currency)
"""

from zeropools.client._client import PAGE_SIZE, PAGE_SIZE_MAX, TIMEOUT_S, Client
from zeropools.client._retry import BACKOFF_BASE_S, BACKOFF_CAP_S, RETRIES_MAX, RETRY_AFTER_MAX_S
from zeropools.client.errors import (
    ApiConnectionError,
    ApiError,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InsufficientBalance,
    InvalidTransition,
    NotFound,
    OrderAlreadyExecuted,
    Overloaded,
    QuoteAlreadyUsed,
    QuoteExpired,
    RateLimited,
    Unauthenticated,
    UnexpectedResponse,
    ValidationError,
    WebhookVerificationError,
    ZeropoolsError,
)
from zeropools.client.exports import ExportReport, ExportVerificationError, verify_export
from zeropools.client.models import (
    Balance,
    Capabilities,
    Event,
    LedgerEntry,
    Pool,
    Quote,
    Trade,
)
from zeropools.client.webhooks import WEBHOOK_TOLERANCE_S, sign_webhook, verify_webhook

__all__ = [
    "BACKOFF_BASE_S",
    "BACKOFF_CAP_S",
    "PAGE_SIZE",
    "PAGE_SIZE_MAX",
    "RETRIES_MAX",
    "RETRY_AFTER_MAX_S",
    "TIMEOUT_S",
    "WEBHOOK_TOLERANCE_S",
    "ApiConnectionError",
    "ApiError",
    "Balance",
    "Capabilities",
    "Client",
    "Event",
    "ExportReport",
    "ExportVerificationError",
    "Forbidden",
    "IdempotencyKeyInUse",
    "IdempotencyKeyReused",
    "InsufficientBalance",
    "InvalidTransition",
    "LedgerEntry",
    "NotFound",
    "OrderAlreadyExecuted",
    "Overloaded",
    "Pool",
    "Quote",
    "QuoteAlreadyUsed",
    "QuoteExpired",
    "RateLimited",
    "Trade",
    "Unauthenticated",
    "UnexpectedResponse",
    "ValidationError",
    "WebhookVerificationError",
    "ZeropoolsError",
    "sign_webhook",
    "verify_export",
    "verify_webhook",
]

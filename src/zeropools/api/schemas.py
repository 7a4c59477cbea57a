"""Request bodies. Money fields accept any JSON so the domain can refuse numbers with the
precise ``amount_invalid`` code instead of a generic schema error; the OpenAPI document still
says they are decimal strings."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from zeropools.domain import limits

Money = Annotated[
    Any,
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "examples": ["1000.00"]}),
]
SignedMoney = Annotated[
    Any,
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "examples": ["-12.00"]}),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3,5}$", examples=["EUR"])]


class Body(BaseModel):
    # unknown fields are refused: a typo must not silently drop a partner's intent
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # NUL is in no name or id; PostgreSQL cannot store it in text, SQLite would
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value


class PartnerCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=limits.PARTNER_NAME_CHARS_MAX)]
    balance_model: Literal["debit", "reserve"]
    currencies: Annotated[
        list[Currency], Field(min_length=1, max_length=limits.CURRENCIES_PER_PARTNER_MAX)
    ]
    low_balance_threshold: dict[str, Money] | None = None


class ApiKeyCreate(Body):
    role: Literal["partner_admin", "partner_server"]


class PayinCreate(Body):
    bank_transaction_id: Annotated[
        str, Field(min_length=1, max_length=limits.BANK_TRANSACTION_ID_CHARS_MAX)
    ]
    amount: Money
    currency: Currency
    booking_status: Literal["pending", "booked"]
    reference: Annotated[str, Field(max_length=limits.PAYMENT_REFERENCE_CHARS_MAX)] | None = None
    remittance_info: Annotated[str, Field(max_length=limits.REMITTANCE_INFO_CHARS_MAX)] | None = (
        None
    )
    debtor_name: Annotated[str, Field(max_length=limits.DEBTOR_NAME_CHARS_MAX)] | None = None
    debtor_iban: Annotated[str, Field(max_length=limits.IBAN_TEXT_CHARS_MAX)] | None = None
    value_date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None

    @field_validator("value_date")
    @classmethod
    def _calendar_date(cls, value: str | None) -> str | None:
        if value is not None:
            date.fromisoformat(value)  # ValueError -> 422 for 2026-13-45
        return value


class QuoteCreate(Body):
    pool_id: Annotated[
        str, Field(min_length=1, max_length=limits.ID_CHARS_MAX, examples=["EUR-USDT"])
    ]
    source_amount: Money
    partner_order_id: Annotated[str, Field(max_length=limits.PARTNER_ORDER_ID_CHARS_MAX)] | None = (
        None
    )


class TradeCreate(Body):
    quote_id: Annotated[str, Field(min_length=1, max_length=limits.ID_CHARS_MAX)]
    partner_order_id: Annotated[
        str, Field(min_length=1, max_length=limits.PARTNER_ORDER_ID_CHARS_MAX)
    ]
    destination: Annotated[str, Field(max_length=limits.DESTINATION_CHARS_MAX)] | None = None


class TradeSettle(Body):
    delivered_amount: Money | None = None
    tx_hash: Annotated[str, Field(max_length=limits.TX_HASH_CHARS_MAX)] | None = None


class TradeReason(Body):
    reason: Annotated[str, Field(min_length=1, max_length=limits.REASON_CHARS_MAX)]


class TradeRelease(Body):
    reason: Annotated[str, Field(max_length=limits.REASON_CHARS_MAX)] | None = None


class PayinAttribute(Body):
    partner_id: Annotated[str, Field(min_length=1, max_length=limits.ID_CHARS_MAX)]


class PayinReturn(Body):
    reason: Annotated[str, Field(min_length=1, max_length=limits.REASON_CHARS_MAX)]


class AdjustmentCreate(Body):
    partner_id: Annotated[str, Field(min_length=1, max_length=limits.ID_CHARS_MAX)]
    currency: Currency
    amount: SignedMoney
    reason: Annotated[str, Field(min_length=1, max_length=limits.REASON_CHARS_MAX)]


class WebhookEndpointCreate(Body):
    url: Annotated[str, Field(min_length=1, max_length=limits.WEBHOOK_URL_CHARS_MAX)]
    event_types: (
        Annotated[
            list[Annotated[str, Field(max_length=limits.ID_CHARS_MAX)]],
            Field(max_length=limits.EVENT_TYPE_FILTERS_MAX),
        ]
        | None
    ) = None
    description: Annotated[str, Field(max_length=limits.WEBHOOK_DESCRIPTION_CHARS_MAX)] | None = (
        None
    )


class WebhookSecretRotate(Body):
    overlap_s: (
        Annotated[int, Field(strict=True, ge=0, le=limits.WEBHOOK_ROTATION_OVERLAP_MAX_S)] | None
    ) = None


class EventRedeliver(Body):
    endpoint_id: Annotated[str, Field(min_length=1, max_length=limits.ID_CHARS_MAX)] | None = None


class AcknowledgementCreate(Body):
    note: Annotated[str, Field(min_length=1, max_length=limits.ACKNOWLEDGEMENT_NOTE_CHARS_MAX)]


class PeriodClose(Body):
    tz: Annotated[str | None, Field(max_length=limits.TZ_NAME_CHARS_MAX, examples=["UTC"])] = None

"""Response models: what the OpenAPI document promises and what every answer is checked against.

Routes return plain dicts from ``views``; FastAPI validates them against these models before
sending, so the document and the wire cannot drift apart (a mismatch is a 500 that the tests and
the schemathesis fuzz would catch). Money is a decimal string everywhere.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Money = str  # decimal string with exactly the currency's scale: "100.00", "107.420000"
T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListOf(Out, Generic[T]):
    object: Literal["list"]
    data: list[T]
    has_more: bool


class FundingInstructions(Out):
    id: str
    object: Literal["funding_instructions"]
    partner_id: str
    currency: str
    iban: str
    bic: str
    account_holder: str
    reference: str = Field(description="ISO 11649 creditor reference; put it in the transfer")
    reference_printed: str
    instructions: str


class Partner(Out):
    id: str
    object: Literal["partner"]
    name: str
    balance_model: Literal["debit", "reserve"]
    currencies: list[str]
    low_balance_threshold: dict[str, Money]
    funding_references: dict[str, str]
    created_at: str
    funding_instructions: list[FundingInstructions] | None = None


class PartnerCreated(Partner):
    api_keys: dict[str, str] = Field(description="role -> secret, shown once")
    api_key_ids: dict[str, str]


class ApiKey(Out):
    id: str
    object: Literal["api_key"]
    partner_id: str | None
    role: str
    mode: Literal["test", "live"]
    last4: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


class ApiKeyCreated(ApiKey):
    secret: str = Field(description="the key itself, shown only now")


class Balance(Out):
    id: str
    object: Literal["balance"]
    partner_id: str
    currency: str
    available: Money
    reserved: Money
    pending: Money
    total: Money
    low_balance_threshold: Money | None
    low: bool
    as_of: str


class LedgerEntry(Out):
    id: str
    object: Literal["ledger_entry"]
    partner_id: str
    type: str
    currency: str
    amount: Money = Field(description="signed change of available (of reserved for trade_settle)")
    available_after: Money
    reserved_after: Money
    trade_id: str | None
    quote_id: str | None
    payin_id: str | None
    related_entry_id: str | None
    funding_reference: str | None
    partner_order_id: str | None
    reason: str | None
    request_id: str
    created_at: str
    sequence: int
    prev_hash: str
    hash: str


class Attribution(Out):
    method: str
    by: str | None
    at: str | None


class Payin(Out):
    id: str
    object: Literal["payin"]
    bank_transaction_id: str
    partner_id: str | None
    amount: str
    currency: str
    status: Literal["pending_confirmation", "credited", "needs_review", "returned"]
    booking_status: Literal["pending", "booked"]
    reference: str | None
    remittance_info: str | None
    debtor_name: str | None
    debtor_iban: str | None
    value_date: str | None
    attribution: Attribution | None
    review_reason: str | None
    flagged: bool = Field(description="credited, yet waiting for the operator (refused recall)")
    return_reason: str | None
    ledger_entry_id: str | None
    funding_reference: str | None
    request_id: str
    created_at: str
    updated_at: str


class PayinImport(Out):
    id: str
    object: Literal["payin_import"]
    format: str
    entries: int
    credits: int
    credited: int
    needs_review: int
    pending_confirmation: int
    duplicates: int
    ignored_debits: int
    conflicts: int
    request_id: str


class Pool(Out):
    id: str
    object: Literal["pool"]
    source_currency: str
    target_asset: str
    min_amount: Money
    max_amount: Money
    fee_bps: int
    enabled: bool


class Quote(Out):
    id: str
    object: Literal["quote"]
    partner_id: str
    pool_id: str
    source_amount: Money
    source_currency: str
    target_amount: Money
    target_asset: str
    rate: str
    fee: Money
    fee_bps: int
    partner_order_id: str | None
    status: Literal["open", "used", "expired"]
    created_at: str
    expires_at: str


class Trade(Out):
    id: str
    object: Literal["trade"]
    partner_id: str
    quote_id: str
    pool_id: str
    partner_order_id: str
    status: Literal["reserved", "debited", "settled", "released", "failed", "returned"]
    balance_model: Literal["debit", "reserve"]
    source_amount: Money
    currency: str
    target_amount: Money
    asset: str
    delivered_amount: Money | None
    tx_hash: str | None
    failure_reason: str | None
    destination: str | None
    ledger_entry_ids: list[str]
    created_at: str
    updated_at: str


class TradeRefusal(Out):
    id: str
    object: Literal["trade_refusal"]
    partner_id: str
    quote_id: str | None
    partner_order_id: str | None
    code: str
    detail: str
    request_id: str
    created_at: str


class Actions(Out):
    create_quote: bool
    execute: bool
    release: bool
    read_ledger: bool


class Capabilities(Out):
    id: str
    object: Literal["capabilities"]
    partner_id: str
    mode: Literal["test", "live"]
    balance_model: Literal["debit", "reserve"]
    currencies: list[str]
    funded_currencies: list[str]
    funding_methods: list[str]
    pools: list[Pool]
    actions: Actions


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem document; codes are listed in API.md and served at ``type``."""

    model_config = ConfigDict(extra="allow")  # helpful extras: currency, shortfall, ...

    type: str = Field(examples=["/errors/insufficient_balance"])
    title: str
    status: int
    detail: str
    code: str = Field(examples=["insufficient_balance"])
    request_id: str
    errors: list[FieldError] | None = None


class EventData(Out):
    object: dict[str, object]


class Event(Out):
    id: str
    object: Literal["event"]
    type: str
    sequence: int
    created_at: str
    request_id: str | None
    data: EventData


class PeriodBalances(Out):
    available: Money
    reserved: Money


class PeriodExport(Out):
    sha256: str = Field(description="sha256 of the frozen CSV export of the day")
    jsonl_sha256: str
    entries: int


class PeriodCheckpoint(Out):
    checkpoint: str = Field(description="the signed canonical JSON")
    signature: str = Field(description="base64 Ed25519 signature of checkpoint")
    signing_key_id: str
    last_sequence: int
    head_hash: str


class Period(Out):
    id: str
    object: Literal["period"]
    partner_id: str
    date: str
    tz: str
    status: Literal["open", "closed"]
    closed_at: str | None
    closing: dict[str, PeriodBalances]
    opening: dict[str, PeriodBalances]
    exports: dict[str, PeriodExport]
    checkpoints: dict[str, PeriodCheckpoint]


class SigningKey(Out):
    id: str
    object: Literal["signing_key"]
    algorithm: Literal["Ed25519"]
    public_key: str = Field(description="base64 of the 32 raw public-key bytes")
    created_at: str
    retired_at: str | None

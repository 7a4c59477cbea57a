"""Response models: what the OpenAPI document promises and what every answer is checked against.

Routes return plain dicts from ``views``; FastAPI validates them against these models before
sending, so the document and the wire cannot drift apart (a mismatch is a 500 that the tests and
the schemathesis fuzz would catch). Money is a decimal string everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from zeropools.domain.ledger import ENTRY_TYPES
from zeropools.representations.problems import PROBLEM_CODES

# Decimal strings with exactly the currency's scale ("100.00", "107.420000"). The pattern is
# what the document promises; the values are written by ``objects`` from minor units, so they
# are not re-validated on the way out (a schema slip would be a 500, not a safer answer).
Money = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]+(\.[0-9]+)?$",
            "examples": ["1000.00"],
            "description": "decimal string with exactly the currency's decimals",
        }
    ),
]
SignedMoney = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
            "examples": ["-100.00"],
            "description": "signed decimal string with exactly the currency's decimals",
        }
    ),
]
Time = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "format": "date-time", "examples": ["2026-11-23T09:15:00.123456Z"]}
    ),
]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


def _enum(values: Iterable[str], description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": sorted(values), "description": description})


EntryType = Annotated[str, _enum(ENTRY_TYPES, "what moved the balance (API.md Balance semantics)")]
ProblemCode = Annotated[str, _enum(PROBLEM_CODES, "stable; /errors/{code} explains it")]
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
    created_at: Time
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
    created_at: Time
    revoked_at: Time | None
    last_used_at: Time | None


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
    as_of: Time


class LedgerEntry(Out):
    id: str
    object: Literal["ledger_entry"]
    partner_id: str
    type: EntryType
    currency: str
    amount: SignedMoney = Field(
        description="signed change of available (of reserved for trade_settle)"
    )
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
    created_at: Time
    sequence: int
    prev_hash: str
    hash: str


class Attribution(Out):
    method: str
    by: str | None
    at: Time | None


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
    value_date: Day | None
    attribution: Attribution | None
    review_reason: str | None
    flagged: bool = Field(description="credited, yet waiting for the operator (refused recall)")
    return_reason: str | None
    ledger_entry_id: str | None
    funding_reference: str | None
    request_id: str
    created_at: Time
    updated_at: Time


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
    created_at: Time
    expires_at: Time


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
    delivery_difference: SignedMoney | None = Field(
        description="delivered_amount minus target_amount (signed); null until settled"
    )
    tx_hash: str | None
    failure_reason: str | None
    destination: str | None
    ledger_entry_ids: list[str]
    created_at: Time
    updated_at: Time


class TradeRefusal(Out):
    id: str
    object: Literal["trade_refusal"]
    partner_id: str
    quote_id: str | None
    partner_order_id: str | None
    code: ProblemCode
    detail: str
    request_id: str
    created_at: Time


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
    code: ProblemCode = Field(examples=["insufficient_balance"])
    request_id: str
    errors: list[FieldError] | None = None


class EventData(Out):
    object: dict[str, object]


class LedgerHeadOut(Out):
    sequence: int = Field(description="the sequence of the partner's last ledger entry (0: none)")
    hash: str = Field(description="that entry's hash (64 zeros before the first entry)")


class Event(Out):
    id: str
    object: Literal["event"]
    type: str
    sequence: int
    created_at: str
    request_id: str | None
    data: EventData
    ledger_head: LedgerHeadOut | None = Field(
        default=None,
        description="the partner's ledger head when the event was written (null on the "
        "platform stream): a witness the partner keeps, so a rewritten ledger cannot pass "
        "as the one it was shown",
    )


class WebhookEndpoint(Out):
    id: str
    object: Literal["webhook_endpoint"]
    partner_id: str
    url: str
    description: str | None
    event_types: list[str] = Field(description='event types, or ["*"]: every type')
    status: Literal["enabled", "deleted"]
    previous_secret_expires_at: str | None = Field(
        description="after a rotation, the old secret signs too until then"
    )
    delivered_sequence: int = Field(
        description="every event of the partner's stream up to this sequence is done "
        "(delivered, or given up after the last attempt)"
    )
    created_at: str
    deleted_at: str | None


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: str = Field(description="whsec_...: verify deliveries with it; shown only now")


class WebhookDelivery(Out):
    id: str
    object: Literal["webhook_delivery"]
    partner_id: str
    event_id: str
    endpoint_id: str
    redelivery_id: str | None
    attempt: int
    status: Literal["succeeded", "failed", "pending"]
    status_code: int | None
    latency_ms: int | None
    error: str | None
    attempted_at: str
    next_attempt_at: str | None


class WebhookRedelivery(Out):
    id: str
    object: Literal["webhook_redelivery"]
    partner_id: str
    event_id: str
    endpoint_id: str
    status: Literal["pending", "succeeded", "failed", "canceled"]
    requested_at: str
    request_id: str


class RedeliveryRequest(Out):
    object: Literal["redelivery_request"]
    event_id: str
    redeliveries: list[WebhookRedelivery]


class ReconciliationRow(Out):
    id: str = Field(description="the trade id or pay-in id: what acknowledge takes")
    object: Literal["reconciliation_row"]
    kind: Literal["trade", "payin"]
    partner_id: str
    partner_order_id: str | None
    pool_id: str | None
    quote_id: str | None
    trade_id: str | None
    transact_id: str | None = Field(description="the trade id (the product brief's name)")
    payin_id: str | None
    currency: str
    amount: Money | None
    balance_delta: SignedMoney = Field(description="net change of available over the row's entries")
    ledger_ref: str = Field(description="the id the entries carry: quote id, or pay-in id")
    ledger_entry_ids: list[str]
    trade_status: str | None
    payin_status: str | None
    funding_reference: str | None
    reconciliation_state: Literal["open", "reconciled"]
    needs_acknowledgement: bool
    acknowledged_by: str | None
    acknowledged_at: str | None
    acknowledged_via: Literal["api", "match"] | None
    note: str | None
    request_id: str
    created_at: str


class MatchDifference(BaseModel):
    field: str
    file: str | None
    ledger: str | None


class MatchResult(Out):
    object: Literal["reconciliation_match_result"]
    line: int | None = Field(description="the file's line; null for a trade the file lacks")
    partner_order_id: str | None
    trade_id: str | None
    quote_id: str | None
    outcome: Literal["matched", "mismatched", "missing_in_ledger", "missing_in_file"]
    tier: Literal["id", "amount_time"] | None
    differences: list[MatchDifference]
    duplicate_of_line: int | None
    acknowledged: bool


class MatchError(Out):
    object: Literal["reconciliation_match_error"]
    line: int
    field: str
    message: str


class ReconciliationMatch(Out):
    id: str
    object: Literal["reconciliation_match"]
    partner_id: str
    format: Literal["csv", "jsonl"]
    rows_read: int
    matched: int
    mismatched: int
    missing_in_ledger: int
    missing_in_file: int
    invalid: int
    acknowledged: int
    by_tier: dict[str, int]
    tolerance_s: int
    from_: str | None = Field(alias="from")
    to: str | None
    tz: str
    request_id: str
    results: list[MatchResult]
    errors: list[MatchError]
    errors_truncated: bool


class TimelineItem(Out):
    at: str
    kind: Literal["request", "entry", "event", "delivery", "refusal"]
    id: str
    summary: str


class SupportPacket(Out):
    id: str
    object: Literal["support_packet"]
    story: Literal["trade", "order", "funding", "entry"]
    partner_id: str
    pool_id: str | None
    funding_reference: str | None
    ledger_entry_id: str | None
    quote_id: str | None
    trade_id: str | None
    transact_id: str | None
    partner_order_id: str | None
    balance_delta: SignedMoney | None
    currency: str | None
    request_id: str | None
    trade_status: str | None
    related_trade_ids: list[str]
    quote_ids: list[str]
    payin_ids: list[str]
    refusal_ids: list[str]
    event_ids: list[str]
    request_ids: list[str]
    truncated: bool
    entries: list[LedgerEntry]
    timeline: list[TimelineItem]


class BalancePair(Out):
    available: Money
    reserved: Money


class PeriodBalances(Out):
    available: Money
    reserved: Money


class TypeTotal(Out):
    count: int
    amount: SignedMoney  # "-350.00" for two buy_debits (API.md)


class BalanceChanges(Out):
    id: str
    object: Literal["balance_changes"]
    partner_id: str
    currency: str
    from_: str = Field(alias="from")
    to: str
    opening: BalancePair
    closing: BalancePair
    credits: Money
    debits: SignedMoney  # the sum of the window's debits: negative or zero
    entry_count: int
    by_type: dict[str, TypeTotal]
    entries: list[LedgerEntry]
    has_more: bool


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

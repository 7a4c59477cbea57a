"""Commands: the frozen inputs of every use case that writes.

A route, a CLI command, a dashboard form or a worker translates its input into one of these and
hands it to ``dispatch.apply`` (or ``apply_idempotent``); none of them writes a transaction of
its own. Fields carry the caller's values as received (amounts as the text sent), because
parsing them is part of the use case and its refusals are part of its answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from zeropools.domain.deliveries import Claim
from zeropools.domain.payins import PayinNotification


@dataclass(frozen=True)
class CreateQuote:
    pool_id: str
    source_amount: object
    partner_order_id: str | None = None
    partner_id: str | None = None  # operators: for whom; partner keys: their own


@dataclass(frozen=True)
class ExecuteTrade:
    quote_id: str
    partner_order_id: str | None
    destination: str | None = None


@dataclass(frozen=True)
class MoveTrade:
    """Settle, release, fail or return: ``to_status`` is the trade status asked for."""

    trade_id: str
    to_status: str
    delivered_amount: object = None
    tx_hash: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RecordPayin:
    note: PayinNotification


@dataclass(frozen=True)
class RecordPayins:
    """Bank credits of one statement chunk: one lookup, one posting per partner."""

    notes: tuple[PayinNotification, ...]


@dataclass(frozen=True)
class AttributePayin:
    payin_id: str
    partner_id: str


@dataclass(frozen=True)
class ReturnPayin:
    payin_id: str
    reason: str


@dataclass(frozen=True)
class Adjust:
    partner_id: str
    currency: str
    amount: object
    reason: str


@dataclass(frozen=True)
class Acknowledge:
    """A person saw a failed or returned trade, or a recalled pay-in (``item_id``)."""

    item_id: str
    note: object


@dataclass(frozen=True)
class AcknowledgeMatched:
    """A partner file reported these trades' final status: ``(trade_id, status, line)``."""

    partner_id: str
    trades: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class CreatePartner:
    name: str
    balance_model: str
    currencies: tuple[str, ...]
    low_balance_threshold: Mapping[str, str] | None = None


@dataclass(frozen=True)
class IssueApiKey:
    partner_id: str | None  # None: an operator key
    role: str


@dataclass(frozen=True)
class RevokeApiKey:
    key_id: str


@dataclass(frozen=True)
class NoteKeyUse:
    """Bookkeeping: when a key was last used (``last_used_at``, minute resolution)."""

    key_id: str


@dataclass(frozen=True)
class CreateWebhookEndpoint:
    url: object
    event_types: object = None  # None: every type
    description: object = None
    partner_id: str | None = None  # operators: for whom; partner keys: their own


@dataclass(frozen=True)
class DeleteWebhookEndpoint:
    endpoint_id: str
    partner_id: str | None = None


@dataclass(frozen=True)
class RotateWebhookSecret:
    endpoint_id: str
    overlap_s: object = None  # None: the default overlap
    partner_id: str | None = None


@dataclass(frozen=True)
class RequestRedelivery:
    event_id: str
    endpoint_id: str | None = None  # None: every enabled endpoint that wants the event


@dataclass(frozen=True)
class ClaimWebhookWork:
    """A worker takes up to ``limit`` due attempts under leases of its own (``ctx.now``)."""

    worker_id: str
    limit: int


@dataclass(frozen=True)
class RecordWebhookAttempt:
    """What the attempt of ``claim`` did; ``jitter`` in [0, 1) spreads the next attempt."""

    claim: Claim
    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    latency_ms: int
    error: str | None
    jitter: float


@dataclass(frozen=True)
class ClosePeriod:
    """Close one calendar day (``date``, in ``tz``) of a partner's ledger."""

    date: str
    tz: str | None = None
    partner_id: str | None = None  # operators: whose; partner keys: their own


Command = (
    CreateQuote
    | ExecuteTrade
    | MoveTrade
    | RecordPayin
    | RecordPayins
    | AttributePayin
    | ReturnPayin
    | Adjust
    | Acknowledge
    | AcknowledgeMatched
    | CreatePartner
    | IssueApiKey
    | RevokeApiKey
    | NoteKeyUse
    | CreateWebhookEndpoint
    | DeleteWebhookEndpoint
    | RotateWebhookSecret
    | RequestRedelivery
    | ClaimWebhookWork
    | RecordWebhookAttempt
    | ClosePeriod
)

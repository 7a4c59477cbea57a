"""Commands: the frozen inputs of every use case that writes.

A route, a CLI command, a dashboard form or a worker translates its input into one of these and
hands it to ``dispatch.apply`` (or ``apply_idempotent``); none of them writes a transaction of
its own. Fields carry the caller's values as received (amounts as the text sent), because
parsing them is part of the use case and its refusals are part of its answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
    | CreatePartner
    | IssueApiKey
    | RevokeApiKey
    | NoteKeyUse
    | ClosePeriod
)

"""Closing a day: which items keep it open, and what a closed period records.

What: the close rule ("Reconcile returned or failed movements before closing finance reports")
as a pure function over the day's unwinding entries, the trades and pay-ins they name and the
acknowledged ids; and the values a close writes (``Period``, one ``CurrencyClose`` per
currency). Why here: the rule is a decision, not I/O, and the reconciliation feature (which
writes the acknowledgements) must be able to read the same rule.

"Of that day" means: the movement reached the ledger that day. A trade failed or returned
today appears as a ``buy_refund``/``trade_release``/``buy_return`` entry today, a recalled
pay-in as a ``payin_reversal``; a trade merely released by the partner is not an open item
(a release is the partner's own decision, nothing to reconcile).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

from zeropools.domain.exports import Mark
from zeropools.domain.ledger import (
    BUY_REFUND,
    BUY_RETURN,
    PAYIN_REVERSAL,
    TRADE_RELEASE,
    LedgerEntry,
)
from zeropools.domain.payins import RETURNED as PAYIN_RETURNED
from zeropools.domain.payins import Payin
from zeropools.domain.trades import FAILED, RETURNED, Trade

TRADE = "trade"
PAYIN = "payin"
OPEN = "open"
CLOSED = "closed"
# the trade statuses a partner's finance must acknowledge before the day closes
UNRECONCILED_TRADE_STATUSES = frozenset({FAILED, RETURNED})
_TRADE_UNWINDS = frozenset({BUY_REFUND, TRADE_RELEASE, BUY_RETURN})


@dataclass(frozen=True)
class OpenItem:
    kind: str  # "trade" | "payin"
    id: str
    status: str
    reason: str | None

    def as_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "id": self.id, "status": self.status, "reason": self.reason}


@dataclass
class Candidates:
    """The ids a day's entries name that may be open items (fed one entry at a time; dicts
    as ordered sets, so the ids keep the order the entries named them in)."""

    trades: dict[str, None]
    payins: dict[str, None]

    @classmethod
    def empty(cls) -> Candidates:
        return cls({}, {})

    @property
    def trade_ids(self) -> list[str]:
        return list(self.trades)

    @property
    def payin_ids(self) -> list[str]:
        return list(self.payins)

    def feed(self, entry: LedgerEntry) -> None:
        if entry.type in _TRADE_UNWINDS and entry.links.trade_id:
            self.trades[entry.links.trade_id] = None
        elif entry.type == PAYIN_REVERSAL and entry.links.payin_id:
            self.payins[entry.links.payin_id] = None


def open_items(
    trades: Iterable[Trade], payins: Iterable[Payin], acknowledged: Set[str]
) -> list[OpenItem]:
    """Failed or returned trades and recalled pay-ins that nobody acknowledged, in id order."""
    found = [
        OpenItem(TRADE, trade.id, trade.status, trade.failure_reason)
        for trade in trades
        if trade.status in UNRECONCILED_TRADE_STATUSES and trade.id not in acknowledged
    ]
    found += [
        OpenItem(PAYIN, payin.id, payin.status, payin.return_reason)
        for payin in payins
        # a returned pay-in with a credit entry was credited, then recalled by the bank
        if payin.status == PAYIN_RETURNED
        and payin.ledger_entry_id is not None
        and payin.id not in acknowledged
    ]
    return sorted(found, key=lambda item: (item.kind, item.id))


@dataclass(frozen=True)
class CurrencyClose:
    """What a close recorded for one currency: the day's roll-forward, the signed checkpoint
    and the sha256 of both export formats (the frozen bytes)."""

    currency: str
    opening: Mark
    closing: Mark
    entries: int
    checkpoint: str
    signature: str
    signing_key_id: str
    csv_sha256: str
    jsonl_sha256: str


@dataclass(frozen=True)
class Period:
    partner_id: str
    date: str
    tz: str
    status: str
    closed_at: str | None = None
    currencies: Sequence[CurrencyClose] = ()

    def close_of(self, currency: str) -> CurrencyClose | None:
        for close in self.currencies:
            if close.currency == currency:
                return close
        return None


@dataclass(frozen=True)
class SigningKey:
    """A published Ed25519 public key; ``id`` derives from the key itself."""

    id: str
    public_key: str  # base64 of the 32 raw bytes
    created_at: str
    retired_at: str | None = None
    algorithm: str = "Ed25519"

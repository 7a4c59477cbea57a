"""Read models: what a use case hands back for a representation to render.

Plain values assembled by the services from several records (a trade with its entries, a
balance with its pending total); the representations turn them into the API's JSON objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.partners import Partner
from zeropools.domain.pools import Pool
from zeropools.domain.quotes import Quote
from zeropools.domain.trades import Trade


@dataclass(frozen=True)
class BalanceView:
    partner_id: str
    currency: str
    available_minor: int
    reserved_minor: int
    pending_minor: int
    low_balance_threshold_minor: int | None
    as_of: str

    @property
    def total_minor(self) -> int:
        return self.available_minor + self.reserved_minor

    @property
    def low(self) -> bool:
        threshold = self.low_balance_threshold_minor
        return threshold is not None and self.available_minor < threshold


@dataclass(frozen=True)
class QuoteView:
    quote: Quote
    status: str


@dataclass(frozen=True)
class TradeView:
    trade: Trade
    entries: tuple[LedgerEntry, ...]


@dataclass(frozen=True)
class Capabilities:
    partner: Partner
    mode: str
    pools: tuple[Pool, ...]
    fundable_currencies: tuple[str, ...]

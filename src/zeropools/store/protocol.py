"""The storage protocol the services depend on.

A service opens one transaction (``store.write`` or ``store.read``) and does all its work on
the ``Tx`` it gets: loads, locks the partner's ledger head, appends what the domain returned,
commits on success. ``write`` retries the whole function when the database reports a conflict
that a retry resolves (a unique key raced by another process), so functions passed to it must be
free of side effects outside the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from zeropools.domain.ledger import (
    Balance,
    EntryFilter,
    LedgerEntry,
    LedgerHead,
    PlatformEntry,
    Posting,
)
from zeropools.domain.paging import Page
from zeropools.domain.partners import ApiKey, Partner
from zeropools.domain.payins import Payin, ReferenceOwner
from zeropools.domain.quotes import Quote, StoredQuote
from zeropools.domain.trades import Refusal, Trade

T = TypeVar("T")


class RetryableConflict(Exception):
    """A unique key raced with a concurrent transaction; running again will see the winner."""


class IntegrityViolation(Exception):
    """The database refused a write that broke one of its constraints."""


@dataclass(frozen=True)
class LedgerState:
    head: LedgerHead
    balances: Mapping[str, Balance]


@dataclass(frozen=True)
class IdempotencyRecord:
    scope: str
    key: str
    fingerprint: str
    request_id: str
    status_code: int | None
    response_body: bytes | None
    created_at: str
    completed_at: str | None


class Tx(Protocol):
    def savepoint(self) -> AbstractContextManager[None]: ...

    # settings
    def get_setting(self, key: str) -> str | None: ...
    def set_setting(self, key: str, value: str) -> None: ...

    # partners and keys
    def insert_partner(self, partner: Partner, head_hash: str) -> None: ...
    def get_partner(self, partner_id: str) -> Partner | None: ...
    def list_partners(self, page: Page) -> list[Partner]: ...
    def partner_ids(self) -> list[str]: ...
    def reference_owners(self, funding_references: Sequence[str]) -> dict[str, ReferenceOwner]: ...
    def insert_api_key(self, key: ApiKey) -> None: ...
    def get_api_key(self, key_id: str) -> ApiKey | None: ...
    def api_key_by_hash(self, secret_hash: str) -> ApiKey | None: ...
    def list_api_keys(self, partner_id: str) -> list[ApiKey]: ...
    def revoke_api_key(self, key_id: str, revoked_at: str) -> None: ...

    # ledger
    def lock_ledger(self, partner_id: str) -> LedgerState: ...
    def ledger_state(self, partner_id: str) -> LedgerState: ...
    def append(self, posting: Posting) -> None: ...
    def get_entry(self, partner_id: str | None, entry_id: str) -> LedgerEntry | None: ...
    def list_entries(
        self, partner_id: str, where: EntryFilter, page: Page
    ) -> list[LedgerEntry]: ...
    def iter_entries(self, partner_id: str) -> Iterator[LedgerEntry]: ...

    # pay-ins
    def insert_payin(self, payin: Payin) -> None: ...
    def insert_payins(self, payins: Sequence[Payin]) -> None: ...
    def payins_by_bank_ids(self, bank_transaction_ids: Sequence[str]) -> dict[str, Payin]: ...
    def update_payin(self, payin: Payin) -> None: ...
    def get_payin(self, payin_id: str) -> Payin | None: ...
    def list_payins(
        self, partner_id: str | None, status: str | None, page: Page, flagged: bool | None = None
    ) -> list[Payin]: ...

    # platform journal
    def insert_platform_entry(self, entry: PlatformEntry) -> None: ...
    def suspense_totals(self) -> dict[str, tuple[int, int]]: ...

    # quotes and trades
    def insert_quote(self, quote: Quote, request_id: str) -> None: ...
    def get_quote(self, quote_id: str) -> StoredQuote | None: ...
    def insert_trade(self, trade: Trade, request_id: str) -> None: ...
    def update_trade(self, trade: Trade, from_status: str) -> None: ...
    def get_trade(self, trade_id: str) -> Trade | None: ...
    def list_trades(
        self,
        partner_id: str | None,
        *,
        partner_order_id: str | None,
        status: str | None,
        limit: int,
        starting_after: str | None,
    ) -> list[Trade]: ...
    def open_trades_before(self, created_before: str, limit: int) -> list[Trade]: ...
    def pending_totals(self, partner_id: str) -> dict[str, int]: ...
    def trade_entries(
        self, partner_id: str, trade_ids: Sequence[str]
    ) -> dict[str, list[LedgerEntry]]: ...
    def insert_refusal(self, refusal: Refusal) -> None: ...
    def list_refusals(
        self,
        partner_id: str,
        *,
        partner_order_id: str | None,
        limit: int,
        starting_after: str | None,
    ) -> list[Refusal]: ...

    # idempotency keys
    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None: ...
    def insert_idempotency(self, record: IdempotencyRecord) -> None: ...
    def complete_idempotency(
        self, scope: str, key: str, status_code: int, body: bytes, completed_at: str
    ) -> None: ...


class Store(Protocol):
    url: str
    dialect: str

    def migrate(self) -> list[str]: ...
    def pending_migrations(self) -> list[str]: ...
    def write(self, work: Callable[[Tx], T], lane: str | None = None) -> T:
        """Run ``work`` in one write transaction; ``lane`` names the partner whose balance it
        touches, so a group-committing store may share the commit with that lane's others."""
        ...

    def read(self, work: Callable[[Tx], T]) -> T: ...
    def close(self) -> None: ...


def first(rows: Sequence[T]) -> T | None:
    return rows[0] if rows else None

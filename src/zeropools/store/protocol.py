"""The storage protocol the services depend on.

A service opens one transaction (``store.write`` or ``store.read``) and does all its work on
the ``Tx`` it gets: loads, locks the partner's ledger head, appends what the domain returned,
commits on success. ``write`` retries the whole function when the database reports a conflict
that a retry resolves (a unique key raced by another process), so functions passed to it must be
free of side effects outside the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from zeropools.domain.ledger import Balance, LedgerEntry, LedgerHead, Posting
from zeropools.domain.partners import ApiKey, Partner
from zeropools.domain.payins import Payin, ReferenceOwner

T = TypeVar("T")


class RetryableConflict(Exception):
    """A unique key raced with a concurrent transaction; running again will see the winner."""


class IntegrityViolation(Exception):
    """The database refused a write that broke one of its constraints."""


@dataclass(frozen=True)
class Page:
    limit: int
    starting_after: str | None = None


@dataclass(frozen=True)
class EntryFilter:
    currency: str | None = None
    type: str | None = None
    trade_id: str | None = None
    created_gte: str | None = None
    created_lt: str | None = None


@dataclass(frozen=True)
class LedgerState:
    head: LedgerHead
    balances: Mapping[str, Balance]


class Tx(Protocol):
    # settings
    def get_setting(self, key: str) -> str | None: ...
    def set_setting(self, key: str, value: str) -> None: ...

    # partners and keys
    def insert_partner(self, partner: Partner, head_hash: str) -> None: ...
    def get_partner(self, partner_id: str) -> Partner | None: ...
    def list_partners(self, page: Page) -> list[Partner]: ...
    def partner_ids(self) -> list[str]: ...
    def reference_owner(self, funding_reference: str) -> ReferenceOwner | None: ...
    def insert_api_key(self, key: ApiKey) -> None: ...
    def get_api_key(self, key_id: str) -> ApiKey | None: ...
    def api_key_by_hash(self, secret_hash: str) -> ApiKey | None: ...
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
    def update_payin(self, payin: Payin) -> None: ...
    def get_payin(self, payin_id: str) -> Payin | None: ...
    def payin_by_bank_id(self, bank_transaction_id: str) -> Payin | None: ...
    def list_payins(
        self, partner_id: str | None, status: str | None, page: Page
    ) -> list[Payin]: ...


class Store(Protocol):
    url: str
    dialect: str

    def migrate(self) -> list[str]: ...
    def pending_migrations(self) -> list[str]: ...
    def write(self, work: Callable[[Tx], T]) -> T: ...
    def read(self, work: Callable[[Tx], T]) -> T: ...
    def close(self) -> None: ...


def first(rows: Sequence[T]) -> T | None:
    return rows[0] if rows else None

"""The SQL both stores share, written once with ``%s`` placeholders.

SQLite and PostgreSQL differ in connection handling, locking and error types (their own modules),
not in these queries; keeping one copy means the contract suite tests the same SQL twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from zeropools.domain import limits
from zeropools.domain.ledger import (
    PLATFORM_SUSPENSE,
    Balance,
    EntryFilter,
    LedgerEntry,
    LedgerHead,
    Links,
    PlatformEntry,
    Posting,
    lines_from_json,
    lines_to_json,
)
from zeropools.domain.paging import Page
from zeropools.domain.partners import ApiKey, Partner, PartnerCurrency
from zeropools.domain.payins import Payin, ReferenceOwner
from zeropools.store.protocol import IntegrityViolation, LedgerState, first
from zeropools.store.trading_sql import TradingQueries

Row = Mapping[str, Any]


class Cursor(Protocol):
    """What we use of a DB-API cursor; both drivers give rows as mappings."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int) -> list[Any]: ...

    @property
    def rowcount(self) -> int: ...


ENTRY_COLUMNS = (
    "partner_id, sequence, id, type, currency, amount_minor, available_after_minor, "
    "reserved_after_minor, lines, trade_id, quote_id, payin_id, related_entry_id, "
    "funding_reference, partner_order_id, reason, request_id, created_at, prev_hash, hash"
)
PAYIN_COLUMNS = (
    "id, bank_transaction_id, partner_id, amount_minor, currency, status, booking_status, "
    "reference, remittance_info, debtor_name, debtor_iban, value_date, attribution_method, "
    "attributed_by, review_reason, ledger_entry_id, funding_reference, request_id, created_at, "
    "updated_at, amount_text, attributed_at, return_reason"
)
_ENTRY_INSERT = f"INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES ({', '.join(['%s'] * 20)})"
_PAYIN_INSERT = f"INSERT INTO payins ({PAYIN_COLUMNS}) VALUES ({', '.join(['%s'] * 23)})"


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [
        values[i : i + limits.IN_LIST_VALUES_MAX]
        for i in range(0, len(values), limits.IN_LIST_VALUES_MAX)
    ]


def entry_from_row(row: Row) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        partner_id=row["partner_id"],
        sequence=int(row["sequence"]),
        type=row["type"],
        currency=row["currency"],
        amount_minor=int(row["amount_minor"]),
        available_after_minor=int(row["available_after_minor"]),
        reserved_after_minor=int(row["reserved_after_minor"]),
        lines=lines_from_json(row["lines"]),
        links=Links(
            trade_id=row["trade_id"],
            quote_id=row["quote_id"],
            payin_id=row["payin_id"],
            related_entry_id=row["related_entry_id"],
            funding_reference=row["funding_reference"],
            partner_order_id=row["partner_order_id"],
        ),
        reason=row["reason"],
        request_id=row["request_id"],
        created_at=row["created_at"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def entry_params(entry: LedgerEntry) -> tuple[Any, ...]:
    links = entry.links
    return (
        entry.partner_id,
        entry.sequence,
        entry.id,
        entry.type,
        entry.currency,
        entry.amount_minor,
        entry.available_after_minor,
        entry.reserved_after_minor,
        lines_to_json(entry.lines),
        links.trade_id,
        links.quote_id,
        links.payin_id,
        links.related_entry_id,
        links.funding_reference,
        links.partner_order_id,
        entry.reason,
        entry.request_id,
        entry.created_at,
        entry.prev_hash,
        entry.hash,
    )


def payin_from_row(row: Row) -> Payin:
    return Payin(**{name: row[name] for name in PAYIN_COLUMNS.split(", ")})


def payin_params(payin: Payin) -> tuple[Any, ...]:
    return tuple(getattr(payin, name) for name in PAYIN_COLUMNS.split(", "))


def key_from_row(row: Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        partner_id=row["partner_id"],
        role=row["role"],
        mode=row["mode"],
        secret_hash=row["secret_hash"],
        last4=row["last4"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


class SqlTx(TradingQueries):
    """``protocol.Tx`` over one open transaction of either database."""

    def __init__(self, cursor: Cursor, placeholder: str, lock_suffix: str) -> None:
        self._cursor = cursor
        self._placeholder = placeholder
        # "FOR UPDATE" on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the write lock.
        self._lock_suffix = lock_suffix
        self._savepoints = 0

    def _sql(self, sql: str) -> str:
        return sql if self._placeholder == "%s" else sql.replace("%s", self._placeholder)

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._sql(sql), params)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cursor.execute(self._sql(sql), params)
        return list(self._cursor.fetchall())

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo only what the block wrote if it raises; the transaction goes on."""
        self._savepoints += 1
        name = f"zp_{self._savepoints}"
        self._run(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._run(f"ROLLBACK TO SAVEPOINT {name}")
            self._run(f"RELEASE SAVEPOINT {name}")
            raise
        self._run(f"RELEASE SAVEPOINT {name}")

    def _rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def _entries_where(self, clause: str, params: Sequence[Any]) -> list[LedgerEntry]:
        rows = self._all(
            f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE {clause} ORDER BY sequence", params
        )
        return [entry_from_row(row) for row in rows]

    # settings -----------------------------------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        row = first(self._all("SELECT value FROM settings WHERE key = %s", (key,)))
        return None if row is None else str(row["value"])

    def set_setting(self, key: str, value: str) -> None:
        self._run(
            "INSERT INTO settings (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # partners -----------------------------------------------------------------------------
    def insert_partner(self, partner: Partner, head_hash: str) -> None:
        self._run(
            "INSERT INTO partners (id, name, balance_model, created_at, ledger_sequence, "
            "ledger_hash) VALUES (%s, %s, %s, %s, 0, %s)",
            (partner.id, partner.name, partner.balance_model, partner.created_at, head_hash),
        )
        self._cursor.executemany(
            self._sql(
                "INSERT INTO partner_currencies (partner_id, currency, funding_reference, "
                "low_balance_threshold_minor) VALUES (%s, %s, %s, %s)"
            ),
            [
                (partner.id, pc.currency, pc.funding_reference, pc.low_balance_threshold_minor)
                for pc in partner.currencies
            ],
        )

    def _partners(self, rows: list[Row]) -> list[Partner]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        marks = ", ".join(["%s"] * len(ids))
        by_partner: dict[str, list[PartnerCurrency]] = {pid: [] for pid in ids}
        for pc in self._all(
            f"SELECT * FROM partner_currencies WHERE partner_id IN ({marks}) "
            "ORDER BY partner_id, currency",
            ids,
        ):
            by_partner[pc["partner_id"]].append(
                PartnerCurrency(
                    partner_id=pc["partner_id"],
                    currency=pc["currency"],
                    funding_reference=pc["funding_reference"],
                    low_balance_threshold_minor=pc["low_balance_threshold_minor"],
                    balance=Balance(int(pc["available_minor"]), int(pc["reserved_minor"])),
                )
            )
        return [
            Partner(
                id=row["id"],
                name=row["name"],
                balance_model=row["balance_model"],
                created_at=row["created_at"],
                currencies=tuple(by_partner[row["id"]]),
            )
            for row in rows
        ]

    def get_partner(self, partner_id: str) -> Partner | None:
        return first(
            self._partners(self._all("SELECT * FROM partners WHERE id = %s", (partner_id,)))
        )

    def list_partners(self, page: Page) -> list[Partner]:
        # newest first; ids are time-ordered so "older than the cursor" is "id < cursor"
        if page.starting_after:
            rows = self._all(
                "SELECT * FROM partners WHERE id < %s ORDER BY id DESC LIMIT %s",
                (page.starting_after, page.limit),
            )
        else:
            rows = self._all("SELECT * FROM partners ORDER BY id DESC LIMIT %s", (page.limit,))
        return self._partners(rows)

    def partner_ids(self) -> list[str]:
        return [row["id"] for row in self._all("SELECT id FROM partners ORDER BY id")]

    def reference_owners(self, funding_references: Sequence[str]) -> dict[str, ReferenceOwner]:
        found: dict[str, ReferenceOwner] = {}
        for chunk in _chunks(funding_references):
            marks = ", ".join(["%s"] * len(chunk))
            for row in self._all(
                "SELECT partner_id, currency, funding_reference FROM partner_currencies "
                f"WHERE funding_reference IN ({marks})",
                chunk,
            ):
                found[row["funding_reference"]] = ReferenceOwner(
                    row["partner_id"], row["currency"], row["funding_reference"]
                )
        return found

    # api keys -----------------------------------------------------------------------------
    def insert_api_key(self, key: ApiKey) -> None:
        self._run(
            "INSERT INTO api_keys (id, partner_id, role, mode, secret_hash, last4, created_at, "
            "revoked_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                key.id,
                key.partner_id,
                key.role,
                key.mode,
                key.secret_hash,
                key.last4,
                key.created_at,
                key.revoked_at,
            ),
        )

    def get_api_key(self, key_id: str) -> ApiKey | None:
        row = first(self._all("SELECT * FROM api_keys WHERE id = %s", (key_id,)))
        return None if row is None else key_from_row(row)

    def api_key_by_hash(self, secret_hash: str) -> ApiKey | None:
        row = first(self._all("SELECT * FROM api_keys WHERE secret_hash = %s", (secret_hash,)))
        return None if row is None else key_from_row(row)

    def list_api_keys(self, partner_id: str) -> list[ApiKey]:
        rows = self._all(
            "SELECT * FROM api_keys WHERE partner_id = %s ORDER BY id DESC", (partner_id,)
        )
        return [key_from_row(row) for row in rows]

    def revoke_api_key(self, key_id: str, revoked_at: str) -> None:
        self._run(
            "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
            (revoked_at, key_id),
        )

    # ledger -------------------------------------------------------------------------------
    def _state(self, partner_id: str, lock: bool) -> LedgerState:
        suffix = f" {self._lock_suffix}" if lock and self._lock_suffix else ""
        head_row = first(
            self._all(
                f"SELECT ledger_sequence, ledger_hash FROM partners WHERE id = %s{suffix}",
                (partner_id,),
            )
        )
        assert head_row is not None, f"ledger of unknown partner {partner_id}"
        # A second statement on purpose: under READ COMMITTED it reads the balances as of
        # *after* the lock was granted. Joined into the locking SELECT, PostgreSQL would
        # re-check only the locked row and keep the stale balances (a lost update).
        balances = {
            row["currency"]: Balance(int(row["available_minor"]), int(row["reserved_minor"]))
            for row in self._all(
                "SELECT currency, available_minor, reserved_minor FROM partner_currencies "
                "WHERE partner_id = %s",
                (partner_id,),
            )
        }
        head = LedgerHead(partner_id, int(head_row["ledger_sequence"]), head_row["ledger_hash"])
        return LedgerState(head, balances)

    def lock_ledger(self, partner_id: str) -> LedgerState:
        return self._state(partner_id, lock=True)

    def ledger_state(self, partner_id: str) -> LedgerState:
        return self._state(partner_id, lock=False)

    def append(self, posting: Posting) -> None:
        if not posting.entries:
            return
        partner_id = posting.head.partner_id
        self._cursor.executemany(
            self._sql(_ENTRY_INSERT), [entry_params(entry) for entry in posting.entries]
        )
        for currency in sorted({entry.currency for entry in posting.entries}):
            balance = posting.balances[currency]
            self._run(
                "UPDATE partner_currencies SET available_minor = %s, reserved_minor = %s "
                "WHERE partner_id = %s AND currency = %s",
                (balance.available_minor, balance.reserved_minor, partner_id, currency),
            )
            if self._cursor.rowcount != 1:
                # an entry in a currency the partner lacks would leave its balance unstored
                raise IntegrityViolation(f"{partner_id} has no {currency} balance to post to")
        # The WHERE on the old sequence makes a lost head lock a loud failure, not a fork.
        previous = posting.entries[0].sequence - 1
        self._run(
            "UPDATE partners SET ledger_sequence = %s, ledger_hash = %s "
            "WHERE id = %s AND ledger_sequence = %s",
            (posting.head.sequence, posting.head.hash, partner_id, previous),
        )
        assert self._cursor.rowcount == 1, f"ledger head of {partner_id} moved under its lock"

    def get_entry(self, partner_id: str | None, entry_id: str) -> LedgerEntry | None:
        if partner_id is None:
            rows = self._all(
                f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE id = %s", (entry_id,)
            )
        else:
            rows = self._all(
                f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE id = %s AND partner_id = %s",
                (entry_id, partner_id),
            )
        row = first(rows)
        return None if row is None else entry_from_row(row)

    def list_entries(self, partner_id: str, where: EntryFilter, page: Page) -> list[LedgerEntry]:
        clauses = ["partner_id = %s"]
        params: list[Any] = [partner_id]
        for column, value, op in (
            ("currency", where.currency, "="),
            ("type", where.type, "="),
            ("trade_id", where.trade_id, "="),
            ("created_at", where.created_gte, ">="),
            ("created_at", where.created_lt, "<"),
        ):
            if value is not None:
                clauses.append(f"{column} {op} %s")
                params.append(value)
        if page.starting_after:
            # oldest first: continue after the cursor entry's sequence
            clauses.append(
                "sequence > (SELECT sequence FROM ledger_entries WHERE id = %s AND partner_id = %s)"
            )
            params += [page.starting_after, partner_id]
        params.append(page.limit)
        rows = self._all(
            f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE {' AND '.join(clauses)} "
            "ORDER BY sequence LIMIT %s",
            params,
        )
        return [entry_from_row(row) for row in rows]

    def iter_entries(self, partner_id: str) -> Iterator[LedgerEntry]:
        after = 0
        while True:
            rows = self._all(
                f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE partner_id = %s "
                "AND sequence > %s ORDER BY sequence LIMIT %s",
                (partner_id, after, limits.ENTRY_READ_BATCH_ROWS),
            )
            for row in rows:
                yield entry_from_row(row)
            if len(rows) < limits.ENTRY_READ_BATCH_ROWS:
                return
            after = int(rows[-1]["sequence"])

    # pay-ins ------------------------------------------------------------------------------
    def insert_payin(self, payin: Payin) -> None:
        self._run(_PAYIN_INSERT, payin_params(payin))

    def insert_payins(self, payins: Sequence[Payin]) -> None:
        if payins:
            self._cursor.executemany(
                self._sql(_PAYIN_INSERT), [payin_params(payin) for payin in payins]
            )

    def payins_by_bank_ids(self, bank_transaction_ids: Sequence[str]) -> dict[str, Payin]:
        found: dict[str, Payin] = {}
        for chunk in _chunks(bank_transaction_ids):
            marks = ", ".join(["%s"] * len(chunk))
            for row in self._all(
                f"SELECT {PAYIN_COLUMNS} FROM payins WHERE bank_transaction_id IN ({marks})",
                chunk,
            ):
                payin = payin_from_row(row)
                found[payin.bank_transaction_id] = payin
        return found

    def update_payin(self, payin: Payin) -> None:
        names = PAYIN_COLUMNS.split(", ")[1:]
        self._run(
            f"UPDATE payins SET {', '.join(f'{name} = %s' for name in names)} WHERE id = %s",
            (*payin_params(payin)[1:], payin.id),
        )

    def get_payin(self, payin_id: str) -> Payin | None:
        row = first(self._all(f"SELECT {PAYIN_COLUMNS} FROM payins WHERE id = %s", (payin_id,)))
        return None if row is None else payin_from_row(row)

    def list_payins(
        self, partner_id: str | None, status: str | None, page: Page, flagged: bool | None = None
    ) -> list[Payin]:
        clauses, params = [], []
        if flagged is not None:
            # flagged: credited, yet something needs the operator (a refused recall)
            clauses.append(
                "(status = 'credited' AND review_reason IS NOT NULL)"
                if flagged
                else "NOT (status = 'credited' AND review_reason IS NOT NULL)"
            )
        for column, value in (("partner_id", partner_id), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if page.starting_after:
            clauses.append("id < %s")
            params.append(page.starting_after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._all(
            f"SELECT {PAYIN_COLUMNS} FROM payins {where} ORDER BY id DESC LIMIT %s",
            (*params, page.limit),
        )
        return [payin_from_row(row) for row in rows]

    # platform journal -------------------------------------------------------------------
    def insert_platform_entry(self, entry: PlatformEntry) -> None:
        self._run(
            "INSERT INTO platform_entries (id, type, currency, amount_minor, lines, payin_id, "
            "request_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                entry.id,
                entry.type,
                entry.currency,
                entry.amount_minor,
                lines_to_json(entry.lines),
                entry.payin_id,
                entry.request_id,
                entry.created_at,
            ),
        )

    def suspense_totals(self) -> dict[str, tuple[int, int]]:
        """Per currency: suspense balance from all journals, and needs_review pay-ins' sum."""
        journals: dict[str, int] = {}
        for row in self._all("SELECT currency, lines FROM platform_entries"):
            for line in lines_from_json(row["lines"]):
                if line.account == PLATFORM_SUSPENSE:
                    journals[row["currency"]] = journals.get(row["currency"], 0) + line.amount_minor
        for row in self._all(
            "SELECT currency, lines FROM ledger_entries WHERE lines LIKE %s",
            ("%" + PLATFORM_SUSPENSE + "%",),
        ):
            for line in lines_from_json(row["lines"]):
                if line.account == PLATFORM_SUSPENSE:
                    journals[row["currency"]] = journals.get(row["currency"], 0) + line.amount_minor
        parked: dict[str, int] = {}
        for row in self._all(
            "SELECT currency, SUM(amount_minor) AS total FROM payins "
            "WHERE status = 'needs_review' AND booking_status = 'booked' AND amount_text IS NULL "
            "GROUP BY currency"
        ):
            parked[row["currency"]] = int(row["total"])
        return {
            currency: (journals.get(currency, 0), parked.get(currency, 0))
            for currency in sorted(set(journals) | set(parked))
        }

"""SQL of the ledger port: partner entries, heads and balances, and the platform journal.

Entries are only ever inserted (the schema's triggers refuse UPDATE and DELETE); a partner's
head (``partners.ledger_sequence``/``ledger_hash``) and balances (``partner_currencies``) move
with each posting, under the head's row lock.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, cast

from zeropools.domain import limits
from zeropools.domain.exports import RenderedRow
from zeropools.domain.ledger import (
    ENTRY_ROW_FIELDS,
    PLATFORM_SUSPENSE,
    Balance,
    EntryFilter,
    EntryRow,
    LedgerEntry,
    LedgerHead,
    Links,
    PlatformEntry,
    Posting,
    lines_from_json,
    lines_to_json,
)
from zeropools.domain.paging import Page
from zeropools.domain.payins import BOOKING_STATUSES, NEEDS_REVIEW
from zeropools.store.ports import LedgerPort, LedgerState
from zeropools.store.protocol import IntegrityViolation, first
from zeropools.store.sql.executor import Executor, Row, marks
from zeropools.store.sql.export_csv import rendered_rows_sql

_PENDING_BOOKING, _BOOKED = BOOKING_STATUSES  # unpacked so a change of the tuple fails here

# the domain's row order, so ``stream_entry_rows`` hands out rows as the database returns them
ENTRY_COLUMNS = ", ".join(ENTRY_ROW_FIELDS)
_ENTRY_INSERT = f"INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES ({marks(21)})"


@functools.cache
def _append_statement(entries: int, currencies: int) -> str:
    """PostgreSQL: insert ``entries`` rows, set ``currencies`` balances and move the head, in
    one statement that answers how many balance rows (``c0``...) and heads (``head``) moved.
    Each CTE writes rows no other one touches, so their shared snapshot changes nothing."""
    rows = ", ".join([f"({marks(21)})"] * entries)
    parts = [f"entries AS (INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES {rows})"]
    counts = []
    for index in range(currencies):
        parts.append(
            f"c{index} AS (UPDATE partner_currencies SET available_minor = %s, "
            "reserved_minor = %s WHERE partner_id = %s AND currency = %s RETURNING 1)"
        )
        counts.append(f"(SELECT count(*) FROM c{index}) AS c{index}")
    # the WHERE on the old sequence makes a lost head lock a loud failure, not a fork
    parts.append(
        "head AS (UPDATE partners SET ledger_sequence = %s, ledger_hash = %s "
        "WHERE id = %s AND ledger_sequence = %s RETURNING 1)"
    )
    counts.append("(SELECT count(*) FROM head) AS head")
    return f"WITH {', '.join(parts)} SELECT {', '.join(counts)}"


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
        hash_version=int(row["hash_version"]),
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
        entry.hash_version,
    )


# ``sequence`` as an expression no index serves (an integer; ``unindexed`` is for text), to
# order the few rows a filter's own index finds: ordered by the bare column, SQLite walked the
# partner's whole (partner_id, sequence) key instead, testing every entry the partner ever had
# (a settle, a support packet or a verify batch cost in proportion to the whole ledger).
_SORTED_BY_SEQUENCE = "+sequence"


def entries_sql(clause: str) -> str:
    """The statement of ``entries_where``: rows found by the clause's own index
    (``ledger_entries_trade``, ``ledger_entries_payin``), then sorted."""
    return (
        f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE {clause} ORDER BY {_SORTED_BY_SEQUENCE}"
    )


def entries_of_request_sql(clause: str) -> str:
    """``entries_of_request``' statement: found by ``ledger_entries_request``, then sorted."""
    return (
        f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE {clause} "
        f"ORDER BY partner_id, {_SORTED_BY_SEQUENCE} LIMIT %s"
    )


def entries_where(ex: Executor, clause: str, params: Sequence[Any]) -> list[LedgerEntry]:
    """A partner's entries matching ``clause``, oldest first (also used by trades)."""
    return [entry_from_row(row) for row in ex.all(entries_sql(clause), params)]


def _in_order(
    partner_id: str,
    currency: str | None,
    created_gte: str | None,
    created_lt: str | None,
    after_sequence: int,
    through_sequence: int | None = None,
) -> tuple[str, list[Any]]:
    """The partner's entries after ``after_sequence`` (through ``through_sequence``) in chain
    order: what both streams read (as entries, or as plain rows in bulk)."""
    where = EntryFilter(currency=currency, created_gte=created_gte, created_lt=created_lt)
    clauses, params = _filters(partner_id, where)
    clauses.append("sequence > %s")
    params.append(after_sequence)
    if through_sequence is not None:
        clauses.append("sequence <= %s")
        params.append(through_sequence)
    sql = f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE {' AND '.join(clauses)} "
    return sql + "ORDER BY sequence", params


def _page_sql(clauses: list[str], where: EntryFilter) -> str:
    """``list_entries``' statement: a trade's entries (``?trade_id=``: a few rows) found by
    ``ledger_entries_trade`` and sorted; any other filter read along an index in order."""
    order = _SORTED_BY_SEQUENCE if where.trade_id is not None else "sequence"
    return (
        f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE {' AND '.join(clauses)} "
        f"ORDER BY {order} LIMIT %s"
    )


def _filters(partner_id: str, where: EntryFilter) -> tuple[list[str], list[Any]]:
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
    return clauses, params


class SqlLedger(LedgerPort):
    """``lock_ledger`` reads a partner's state once per transaction: the lock is held to the
    commit, and only ``append`` (which moves the kept state along) or a write to the partner's
    rows (``SqlTx`` forgets the state then, and on a rollback to a savepoint) can change it.
    A batch of one partner's commands thus reads its head and balances once, not per command."""

    _ex: Executor
    _locked: dict[str, LedgerState]
    _appending: bool = False

    def _state(self, partner_id: str, lock: bool) -> LedgerState:
        suffix = f" {self._ex.dialect.row_lock}" if lock and self._ex.dialect.row_lock else ""
        head_row = first(
            self._ex.all(
                "SELECT ledger_sequence, ledger_hash, balance_model FROM partners "
                f"WHERE id = %s{suffix}",
                (partner_id,),
            )
        )
        assert head_row is not None, f"ledger of unknown partner {partner_id}"
        # A second statement on purpose: under READ COMMITTED it reads the balances as of
        # *after* the lock was granted. Joined into the locking SELECT, PostgreSQL would
        # re-check only the locked row and keep the stale balances (a lost update).
        balances = {
            row["currency"]: Balance(int(row["available_minor"]), int(row["reserved_minor"]))
            for row in self._ex.all(
                "SELECT currency, available_minor, reserved_minor FROM partner_currencies "
                "WHERE partner_id = %s",
                (partner_id,),
            )
        }
        head = LedgerHead(partner_id, int(head_row["ledger_sequence"]), head_row["ledger_hash"])
        return LedgerState(head, balances, head_row["balance_model"])

    def lock_ledger(self, partner_id: str) -> LedgerState:
        state = self._locked.get(partner_id)
        if state is None:
            state = self._locked[partner_id] = self._state(partner_id, lock=True)
        return state

    def holds_ledger(self, partner_id: str) -> bool:
        # kept only while certain: a savepoint rolled back (which may release locks taken
        # inside it) or a write to the partner rows forgets every state
        return partner_id in self._locked

    def ledger_state(self, partner_id: str) -> LedgerState:
        return self._state(partner_id, lock=False)

    def ledger_head(self, partner_id: str) -> LedgerHead:
        row = first(
            self._ex.all(
                "SELECT ledger_sequence, ledger_hash FROM partners WHERE id = %s", (partner_id,)
            )
        )
        assert row is not None, f"ledger of unknown partner {partner_id}"
        return LedgerHead(partner_id, int(row["ledger_sequence"]), row["ledger_hash"])

    def append(self, posting: Posting) -> None:
        if not posting.entries:
            return
        partner_id = posting.head.partner_id
        kept = self._locked.pop(partner_id, None)  # stale from here until the writes are done
        self._appending = True
        try:
            self._append(posting)
        finally:
            self._appending = False
        if kept is not None:
            self._locked[partner_id] = LedgerState(
                posting.head, {**kept.balances, **posting.balances}, kept.balance_model
            )

    def _append(self, posting: Posting) -> None:
        partner_id = posting.head.partner_id
        if self._ex.dialect.name == "postgres":
            self._append_at_once(posting)
            return
        self._ex.many(_ENTRY_INSERT, [entry_params(entry) for entry in posting.entries])
        for currency in sorted({entry.currency for entry in posting.entries}):
            balance = posting.balances[currency]
            changed = self._ex.run(
                "UPDATE partner_currencies SET available_minor = %s, reserved_minor = %s "
                "WHERE partner_id = %s AND currency = %s",
                (balance.available_minor, balance.reserved_minor, partner_id, currency),
            )
            if changed != 1:
                # an entry in a currency the partner lacks would leave its balance unstored
                raise IntegrityViolation(f"{partner_id} has no {currency} balance to post to")
        # The WHERE on the old sequence makes a lost head lock a loud failure, not a fork.
        previous = posting.entries[0].sequence - 1
        moved = self._ex.run(
            "UPDATE partners SET ledger_sequence = %s, ledger_hash = %s "
            "WHERE id = %s AND ledger_sequence = %s",
            (posting.head.sequence, posting.head.hash, partner_id, previous),
        )
        assert moved == 1, f"ledger head of {partner_id} moved under its lock"

    def _append_at_once(self, posting: Posting) -> None:
        """``append`` on PostgreSQL: the entries, the balances and the head in one statement
        (data-modifying CTEs), one round trip instead of three, with the same checks."""
        partner_id = posting.head.partner_id
        currencies = sorted({entry.currency for entry in posting.entries})
        params: list[Any] = [p for entry in posting.entries for p in entry_params(entry)]
        for currency in currencies:
            balance = posting.balances[currency]
            params += [balance.available_minor, balance.reserved_minor, partner_id, currency]
        previous = posting.entries[0].sequence - 1
        params += [posting.head.sequence, posting.head.hash, partner_id, previous]
        sql = _append_statement(len(posting.entries), len(currencies))

        def check(row: Row) -> None:  # when the statement has run: maybe with a later one
            for index, currency in enumerate(currencies):
                if row[f"c{index}"] != 1:
                    raise IntegrityViolation(f"{partner_id} has no {currency} balance to post to")
            assert row["head"] == 1, f"ledger head of {partner_id} moved under its lock"

        self._ex.send(sql, params, check)

    def get_entry(self, partner_id: str | None, entry_id: str) -> LedgerEntry | None:
        if partner_id is None:
            rows = self._ex.all(
                f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE id = %s", (entry_id,)
            )
        else:
            rows = self._ex.all(
                f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE id = %s AND partner_id = %s",
                (entry_id, partner_id),
            )
        row = first(rows)
        return None if row is None else entry_from_row(row)

    def list_entries(self, partner_id: str, where: EntryFilter, page: Page) -> list[LedgerEntry]:
        clauses, params = _filters(partner_id, where)
        if page.starting_after:
            # oldest first: continue after the cursor entry's sequence
            clauses.append(
                "sequence > (SELECT sequence FROM ledger_entries WHERE id = %s AND partner_id = %s)"
            )
            params += [page.starting_after, partner_id]
        params.append(page.limit)
        rows = self._ex.all(_page_sql(clauses, where), params)
        return [entry_from_row(row) for row in rows]

    def iter_entries(self, partner_id: str) -> Iterator[LedgerEntry]:
        return self.stream_entries(partner_id)

    def stream_entries(
        self,
        partner_id: str,
        *,
        currency: str | None = None,
        created_gte: str | None = None,
        created_lt: str | None = None,
        after_sequence: int = 0,
    ) -> Iterator[LedgerEntry]:
        sql, params = _in_order(partner_id, currency, created_gte, created_lt, after_sequence)
        rows = self._ex.stream(sql, params, limits.ENTRY_READ_BATCH_ROWS)
        try:
            for row in rows:
                yield entry_from_row(row)
        finally:
            rows.close()  # closing this generator closes the cursor now, not at collection

    def stream_entry_rows(
        self,
        partner_id: str,
        *,
        currency: str | None = None,
        created_gte: str | None = None,
        created_lt: str | None = None,
        after_sequence: int = 0,
        through_sequence: int | None = None,
    ) -> Iterator[list[EntryRow]]:
        sql, params = _in_order(
            partner_id, currency, created_gte, created_lt, after_sequence, through_sequence
        )
        # the columns are ENTRY_ROW_FIELDS, so each row is an EntryRow as it comes
        batches = self._ex.stream_tuples(sql, params, limits.BULK_READ_BATCH_ROWS)
        return cast("Iterator[list[EntryRow]]", batches)

    def stream_entry_hashes(self, partner_id: str) -> Iterator[list[tuple[int, str]]]:
        batches = self._ex.stream_tuples(
            "SELECT sequence, hash FROM ledger_entries WHERE partner_id = %s ORDER BY sequence",
            (partner_id,),
            limits.BULK_READ_BATCH_ROWS,
        )
        return cast("Iterator[list[tuple[int, str]]]", batches)

    def stream_rendered_rows(
        self, partner_id: str, currency: str, created_gte: str, created_lt: str, scale: int
    ) -> Iterator[list[RenderedRow]]:
        # The day's rows are read along (partner_id, currency, sequence) between the day's
        # first and last sequence (found on the created_at index): in sequence order as
        # stored, so the database does not sort the rendered rows (that sort cost as much as
        # the rendering on SQLite, and spilled to disk on PostgreSQL). The outer day filter
        # is kept off the created_at indexes (``+`` on SQLite, ``|| ''`` on PostgreSQL).
        day = "partner_id = %s AND currency = %s AND created_at >= %s AND created_at < %s"
        created = "+created_at" if self._ex.dialect.name == "sqlite" else "(created_at || '')"
        where = (
            f"partner_id = %s AND currency = %s AND {created} >= %s AND {created} < %s "
            f"AND sequence >= (SELECT min(sequence) FROM ledger_entries WHERE {day}) "
            f"AND sequence <= (SELECT max(sequence) FROM ledger_entries WHERE {day})"
        )
        sql, leading = rendered_rows_sql(self._ex.dialect.name, scale, where)
        params = [*leading, *([partner_id, currency, created_gte, created_lt] * 3)]
        batches = self._ex.stream_tuples(sql, params, limits.BULK_READ_BATCH_ROWS)
        try:
            yield from cast("Iterator[list[RenderedRow]]", batches)
        finally:
            batches.close()

    def entries_of_request(
        self, request_id: str, partner_id: str | None, limit: int
    ) -> list[LedgerEntry]:
        clause, params = "request_id = %s", [request_id]
        if partner_id is not None:
            clause += " AND partner_id = %s"
            params.append(partner_id)
        rows = self._ex.all(
            entries_of_request_sql(clause),
            (*params, limit),
        )
        return [entry_from_row(row) for row in rows]

    def sequence_bounds(
        self, partner_id: str, currency: str, created_gte: str, created_lt: str
    ) -> tuple[int | None, int | None]:
        rows = self._ex.all(
            "SELECT (SELECT MIN(sequence) FROM ledger_entries WHERE partner_id = %s "
            "AND currency = %s AND created_at >= %s) AS first_in, "
            "(SELECT MAX(sequence) FROM ledger_entries WHERE partner_id = %s "
            "AND currency = %s AND created_at < %s) AS last_in",
            (partner_id, currency, created_gte, partner_id, currency, created_lt),
        )
        first_in, last_in = rows[0]["first_in"], rows[0]["last_in"]
        return (
            None if first_in is None else int(first_in),
            None if last_in is None else int(last_in),
        )

    def balance_through(self, partner_id: str, currency: str, sequence: int) -> Balance:
        row = first(
            self._ex.all(
                "SELECT available_after_minor, reserved_after_minor FROM ledger_entries "
                "WHERE partner_id = %s AND currency = %s AND sequence <= %s "
                "ORDER BY sequence DESC LIMIT 1",
                (partner_id, currency, sequence),
            )
        )
        if row is None:
            return Balance()
        return Balance(int(row["available_after_minor"]), int(row["reserved_after_minor"]))

    def unwinds_of(self, partner_id: str, entry_id: str) -> list[int]:
        rows = self._ex.all(
            "SELECT sequence FROM ledger_entries WHERE partner_id = %s AND related_entry_id = %s "
            "ORDER BY sequence",
            (partner_id, entry_id),
        )
        return [int(row["sequence"]) for row in rows]

    def last_entry_before(
        self, partner_id: str, currency: str, created_lt: str
    ) -> LedgerEntry | None:
        rows = self._ex.all(
            f"SELECT {ENTRY_COLUMNS} FROM ledger_entries "
            "WHERE partner_id = %s AND currency = %s AND created_at < %s "
            "ORDER BY created_at DESC, sequence DESC LIMIT 1",
            (partner_id, currency, created_lt),
        )
        row = first(rows)
        return None if row is None else entry_from_row(row)

    def entry_at(self, partner_id: str, sequence: int) -> LedgerEntry | None:
        rows = self._ex.all(
            f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE partner_id = %s AND sequence = %s",
            (partner_id, sequence),
        )
        row = first(rows)
        return None if row is None else entry_from_row(row)

    # platform journal -------------------------------------------------------------------
    def insert_platform_entry(self, entry: PlatformEntry) -> None:
        self._ex.run(
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
        for row in self._ex.all("SELECT currency, lines FROM platform_entries"):
            for line in lines_from_json(row["lines"]):
                if line.account == PLATFORM_SUSPENSE:
                    journals[row["currency"]] = journals.get(row["currency"], 0) + line.amount_minor
        for row in self._ex.all(
            "SELECT currency, lines FROM ledger_entries WHERE lines LIKE %s",
            ("%" + PLATFORM_SUSPENSE + "%",),
        ):
            for line in lines_from_json(row["lines"]):
                if line.account == PLATFORM_SUSPENSE:
                    journals[row["currency"]] = journals.get(row["currency"], 0) + line.amount_minor
        parked: dict[str, int] = {}
        for row in self._ex.all(
            "SELECT currency, SUM(amount_minor) AS total FROM payins "
            "WHERE status = %s AND booking_status = %s AND amount_text IS NULL "
            "GROUP BY currency",
            (NEEDS_REVIEW, _BOOKED),
        ):
            parked[row["currency"]] = int(row["total"])
        return {
            currency: (journals.get(currency, 0), parked.get(currency, 0))
            for currency in sorted(set(journals) | set(parked))
        }

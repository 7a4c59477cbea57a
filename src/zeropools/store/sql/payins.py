"""SQL of the pay-ins port: bank credits, one row each, updated as they move.

``Payin`` fields and columns share their names, so the mapping is the column list itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from zeropools.domain import limits
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.paging import Page
from zeropools.domain.payins import CREDITED, Payin
from zeropools.store.ports import PayinsPort
from zeropools.store.protocol import first
from zeropools.store.sql.executor import Executor, Row, chunks, created_window, marks
from zeropools.store.sql.ledger import entries_where

PAYIN_COLUMNS = (
    "id, bank_transaction_id, partner_id, amount_minor, currency, status, booking_status, "
    "reference, remittance_info, debtor_name, debtor_iban, value_date, attribution_method, "
    "attributed_by, review_reason, ledger_entry_id, funding_reference, request_id, created_at, "
    "updated_at, amount_text, attributed_at, return_reason"
)
_PAYIN_NAMES = PAYIN_COLUMNS.split(", ")
_PAYIN_INSERT = f"INSERT INTO payins ({PAYIN_COLUMNS}) VALUES ({marks(len(_PAYIN_NAMES))})"
# flagged: credited, yet something needs the operator (a refused recall)
_FLAGGED = "(status = %s AND review_reason IS NOT NULL)"


def payin_from_row(row: Row) -> Payin:
    return Payin(**{name: row[name] for name in _PAYIN_NAMES})


def payin_params(payin: Payin) -> tuple[Any, ...]:
    return tuple(getattr(payin, name) for name in _PAYIN_NAMES)


class SqlPayins(PayinsPort):
    _ex: Executor

    def insert_payin(self, payin: Payin) -> None:
        self._ex.run(_PAYIN_INSERT, payin_params(payin))

    def insert_payins(self, payins: Sequence[Payin]) -> None:
        self._ex.many(_PAYIN_INSERT, [payin_params(payin) for payin in payins])

    def payins_by_bank_ids(self, bank_transaction_ids: Sequence[str]) -> dict[str, Payin]:
        found: dict[str, Payin] = {}
        for chunk in chunks(bank_transaction_ids, limits.IN_LIST_VALUES_MAX):
            for row in self._ex.all(
                f"SELECT {PAYIN_COLUMNS} FROM payins "
                f"WHERE bank_transaction_id IN ({marks(len(chunk))})",
                chunk,
            ):
                payin = payin_from_row(row)
                found[payin.bank_transaction_id] = payin
        return found

    def update_payin(self, payin: Payin) -> None:
        names = _PAYIN_NAMES[1:]
        self._ex.run(
            f"UPDATE payins SET {', '.join(f'{name} = %s' for name in names)} WHERE id = %s",
            (*payin_params(payin)[1:], payin.id),
        )

    def get_payin(self, payin_id: str) -> Payin | None:
        row = first(self._ex.all(f"SELECT {PAYIN_COLUMNS} FROM payins WHERE id = %s", (payin_id,)))
        return None if row is None else payin_from_row(row)

    def list_payins(
        self, partner_id: str | None, status: str | None, page: Page, flagged: bool | None = None
    ) -> list[Payin]:
        clauses: list[str] = []
        params: list[Any] = []
        if flagged is not None:
            clauses.append(_FLAGGED if flagged else f"NOT {_FLAGGED}")
            params.append(CREDITED)
        for column, value in (("partner_id", partner_id), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if page.starting_after:
            clauses.append("id < %s")
            params.append(page.starting_after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._ex.all(
            f"SELECT {PAYIN_COLUMNS} FROM payins {where} ORDER BY id DESC LIMIT %s",
            (*params, page.limit),
        )
        return [payin_from_row(row) for row in rows]

    # reads of reconciliation, support and verify ----------------------------------------
    def stream_payins(
        self,
        partner_id: str,
        *,
        created_gte: str | None = None,
        created_lt: str | None = None,
        newest_first: bool = False,
        before: tuple[str, str] | None = None,
    ) -> Iterator[Payin]:
        clauses, params, order = created_window(
            partner_id, created_gte, created_lt, before, newest_first
        )
        rows = self._ex.stream(
            f"SELECT {PAYIN_COLUMNS} FROM payins WHERE {' AND '.join(clauses)} {order}",
            params,
            limits.ENTRY_READ_BATCH_ROWS,
        )
        try:
            for row in rows:
                yield payin_from_row(row)
        finally:
            rows.close()

    def payin_entries(
        self, partner_id: str, payin_ids: Sequence[str]
    ) -> dict[str, list[LedgerEntry]]:
        grouped: dict[str, list[LedgerEntry]] = {}
        for chunk in chunks(payin_ids, limits.IN_LIST_VALUES_MAX):
            for entry in entries_where(
                self._ex,
                f"partner_id = %s AND payin_id IN ({marks(len(chunk))})",
                (partner_id, *chunk),
            ):
                assert entry.links.payin_id is not None
                grouped.setdefault(entry.links.payin_id, []).append(entry)
        return grouped

    def payins_of_reference(self, funding_reference: str, limit: int) -> list[Payin]:
        rows = self._ex.all(
            f"SELECT {PAYIN_COLUMNS} FROM payins WHERE funding_reference = %s "
            "ORDER BY created_at DESC, id DESC LIMIT %s",
            (funding_reference, limit),
        )
        return [payin_from_row(row) for row in rows]

    def payins_of_request(self, request_id: str) -> list[Payin]:
        rows = self._ex.all(
            f"SELECT {PAYIN_COLUMNS} FROM payins WHERE request_id = %s", (request_id,)
        )
        return [payin_from_row(row) for row in rows]

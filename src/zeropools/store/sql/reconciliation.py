"""SQL of the reconciliation port: acknowledgements, one per item, only ever inserted.

``Acknowledgement`` fields and columns share their names, so the mapping is the column list.
A second acknowledgement of one item breaks the primary key: the store's retry then runs the
use case again, which finds the first one and keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence

from zeropools.domain import limits
from zeropools.domain.reconciliation import Acknowledgement
from zeropools.store.ports import ReconciliationPort
from zeropools.store.sql.executor import Executor, chunks, marks

_COLUMNS = (
    "partner_id, item_id, kind, status, acknowledged_by, acknowledged_at, note, source, request_id"
)
_NAMES = _COLUMNS.split(", ")


class SqlReconciliation(ReconciliationPort):
    _ex: Executor

    def insert_acknowledgement(self, acknowledgement: Acknowledgement) -> None:
        self._ex.run(
            f"INSERT INTO reconciliation_acknowledgements ({_COLUMNS}) "
            f"VALUES ({marks(len(_NAMES))})",
            tuple(getattr(acknowledgement, name) for name in _NAMES),
        )

    def acknowledgements(
        self, partner_id: str, item_ids: Sequence[str]
    ) -> dict[str, Acknowledgement]:
        found: dict[str, Acknowledgement] = {}
        for chunk in chunks(item_ids, limits.IN_LIST_VALUES_MAX):
            for row in self._ex.all(
                f"SELECT {_COLUMNS} FROM reconciliation_acknowledgements "
                f"WHERE partner_id = %s AND item_id IN ({marks(len(chunk))})",
                (partner_id, *chunk),
            ):
                acknowledgement = Acknowledgement(**{name: row[name] for name in _NAMES})
                found[acknowledgement.item_id] = acknowledgement
        return found

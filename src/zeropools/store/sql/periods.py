"""SQL of the periods port: closed periods and their checkpoints, signing keys, and the
reconciliation acknowledgements the close rule reads.

Periods and checkpoints are only inserted (triggers refuse UPDATE and DELETE); a signing key's
row changes once, when a newer key retires it.
"""

from __future__ import annotations

from collections.abc import Sequence

from zeropools.domain.exports import Mark
from zeropools.domain.periods import CLOSED, CurrencyClose, Period, SigningKey
from zeropools.store.ports import PeriodsPort
from zeropools.store.sql.executor import Executor, Row, chunks, marks

_ACK_LOOKUP_IDS_MAX = 500  # ids per IN (...) list

_CHECKPOINT_COLUMNS = (
    "currency, opening_available_minor, opening_reserved_minor, closing_available_minor, "
    "closing_reserved_minor, entries, last_sequence, head_hash, checkpoint, signature, "
    "signing_key_id, csv_sha256, jsonl_sha256"
)


def _close_from_row(row: Row, opening_hash: str, opening_sequence: int) -> CurrencyClose:
    return CurrencyClose(
        currency=row["currency"],
        opening=Mark(
            opening_sequence,
            opening_hash,
            int(row["opening_available_minor"]),
            int(row["opening_reserved_minor"]),
        ),
        closing=Mark(
            int(row["last_sequence"]),
            row["head_hash"],
            int(row["closing_available_minor"]),
            int(row["closing_reserved_minor"]),
        ),
        entries=int(row["entries"]),
        checkpoint=row["checkpoint"],
        signature=row["signature"],
        signing_key_id=row["signing_key_id"],
        csv_sha256=row["csv_sha256"],
        jsonl_sha256=row["jsonl_sha256"],
    )


class SqlPeriods(PeriodsPort):
    _ex: Executor

    def acknowledged_ids(self, partner_id: str, object_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for part in chunks(list(object_ids), _ACK_LOOKUP_IDS_MAX):
            rows = self._ex.all(
                "SELECT item_id FROM reconciliation_acknowledgements "
                f"WHERE partner_id = %s AND item_id IN ({marks(len(part))})",
                (partner_id, *part),
            )
            found |= {row["item_id"] for row in rows}
        return found

    def get_period(self, partner_id: str, date: str) -> Period | None:
        rows = self._ex.all(
            "SELECT date, tz, closed_at FROM periods WHERE partner_id = %s AND date = %s",
            (partner_id, date),
        )
        if not rows:
            return None
        return self._period(partner_id, rows[0])

    def list_periods(self, partner_id: str) -> list[Period]:
        rows = self._ex.all(
            "SELECT date, tz, closed_at FROM periods WHERE partner_id = %s ORDER BY date",
            (partner_id,),
        )
        return [self._period(partner_id, row) for row in rows]

    def _period(self, partner_id: str, row: Row) -> Period:
        closes = self._ex.all(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM period_checkpoints "
            "WHERE partner_id = %s AND date = %s ORDER BY currency",
            (partner_id, row["date"]),
        )
        # the opening position's sequence and hash are not stored: they are the previous
        # entry's, which the export reads from the ledger itself (see services.exports)
        return Period(
            partner_id=partner_id,
            date=row["date"],
            tz=row["tz"],
            status=CLOSED,
            closed_at=row["closed_at"],
            currencies=tuple(_close_from_row(close, "", 0) for close in closes),
        )

    def insert_period(self, period: Period, request_id: str) -> None:
        assert period.status == CLOSED and period.closed_at is not None
        self._ex.run(
            "INSERT INTO periods (partner_id, date, tz, closed_at, request_id) "
            "VALUES (%s, %s, %s, %s, %s)",
            (period.partner_id, period.date, period.tz, period.closed_at, request_id),
        )
        self._ex.many(
            f"INSERT INTO period_checkpoints (partner_id, date, {_CHECKPOINT_COLUMNS}) "
            f"VALUES ({marks(15)})",
            [
                (
                    period.partner_id,
                    period.date,
                    close.currency,
                    close.opening.available_minor,
                    close.opening.reserved_minor,
                    close.closing.available_minor,
                    close.closing.reserved_minor,
                    close.entries,
                    close.closing.sequence,
                    close.closing.hash,
                    close.checkpoint,
                    close.signature,
                    close.signing_key_id,
                    close.csv_sha256,
                    close.jsonl_sha256,
                )
                for close in period.currencies
            ],
        )

    def signing_keys(self) -> list[SigningKey]:
        rows = self._ex.all(
            "SELECT id, public_key, created_at, retired_at FROM signing_keys "
            "ORDER BY created_at, id"
        )
        return [
            SigningKey(row["id"], row["public_key"], row["created_at"], row["retired_at"])
            for row in rows
        ]

    def register_signing_key(self, key: SigningKey, now: str) -> None:
        known = self._ex.all("SELECT retired_at FROM signing_keys WHERE id = %s", (key.id,))
        if known and known[0]["retired_at"] is None:
            return  # already the current key
        if not known:
            self._ex.run(
                "INSERT INTO signing_keys (id, algorithm, public_key, created_at) "
                "VALUES (%s, %s, %s, %s)",
                (key.id, key.algorithm, key.public_key, now),
            )
        else:  # a retired key brought back: current again
            self._ex.run("UPDATE signing_keys SET retired_at = NULL WHERE id = %s", (key.id,))
        self._ex.run(
            "UPDATE signing_keys SET retired_at = %s WHERE retired_at IS NULL AND id <> %s",
            (now, key.id),
        )

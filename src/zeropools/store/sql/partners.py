"""SQL of the partners port: partners with their currencies, and API keys.

A partner's balances live on its ``partner_currencies`` rows, but they belong to the ledger:
this module writes them only as zero on onboarding and reads them with the partner.
"""

from __future__ import annotations

from collections.abc import Sequence

from zeropools.domain import limits
from zeropools.domain.ledger import Balance
from zeropools.domain.paging import Page
from zeropools.domain.partners import ApiKey, Partner, PartnerCurrency
from zeropools.domain.payins import ReferenceOwner
from zeropools.store.ports import PartnersPort
from zeropools.store.protocol import first
from zeropools.store.sql.executor import Executor, Row, chunks, marks

_KEY_INSERT_COLUMNS = (
    "id, partner_id, role, mode, secret_hash, last4, created_at, revoked_at, hash_scheme, origin"
)
_KEY_COLUMNS = f"{_KEY_INSERT_COLUMNS}, last_used_at"


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
        last_used_at=row["last_used_at"],
        hash_scheme=row["hash_scheme"],
        origin=row["origin"],
    )


def currency_from_row(row: Row) -> PartnerCurrency:
    return PartnerCurrency(
        partner_id=row["partner_id"],
        currency=row["currency"],
        funding_reference=row["funding_reference"],
        low_balance_threshold_minor=row["low_balance_threshold_minor"],
        balance=Balance(int(row["available_minor"]), int(row["reserved_minor"])),
    )


class SqlPartners(PartnersPort):
    _ex: Executor

    def insert_partner(self, partner: Partner, head_hash: str) -> None:
        self._ex.run(
            "INSERT INTO partners (id, name, balance_model, created_at, ledger_sequence, "
            "ledger_hash) VALUES (%s, %s, %s, %s, 0, %s)",
            (partner.id, partner.name, partner.balance_model, partner.created_at, head_hash),
        )
        self._ex.many(
            "INSERT INTO partner_currencies (partner_id, currency, funding_reference, "
            "low_balance_threshold_minor) VALUES (%s, %s, %s, %s)",
            [
                (partner.id, pc.currency, pc.funding_reference, pc.low_balance_threshold_minor)
                for pc in partner.currencies
            ],
        )

    def _partners(self, rows: list[Row]) -> list[Partner]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        by_partner: dict[str, list[PartnerCurrency]] = {pid: [] for pid in ids}
        for pc in self._ex.all(
            f"SELECT * FROM partner_currencies WHERE partner_id IN ({marks(len(ids))}) "
            "ORDER BY partner_id, currency",
            ids,
        ):
            by_partner[pc["partner_id"]].append(currency_from_row(pc))
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
        # one statement, the partner's row on each of its currencies' (every quote reads this)
        rows = self._ex.all(
            "SELECT p.name, p.balance_model, p.created_at, c.currency, c.funding_reference, "
            "c.low_balance_threshold_minor, c.available_minor, c.reserved_minor "
            "FROM partners p LEFT JOIN partner_currencies c ON c.partner_id = p.id "
            "WHERE p.id = %s ORDER BY c.currency",
            (partner_id,),
        )
        if not rows:
            return None
        head = rows[0]
        currencies = tuple(
            currency_from_row({**row, "partner_id": partner_id})
            for row in rows
            if row["currency"] is not None  # the LEFT JOIN's row of a partner without any
        )
        return Partner(
            id=partner_id,
            name=head["name"],
            balance_model=head["balance_model"],
            created_at=head["created_at"],
            currencies=currencies,
        )

    def list_partners(self, page: Page) -> list[Partner]:
        # newest first; ids are time-ordered so "older than the cursor" is "id < cursor"
        if page.starting_after:
            rows = self._ex.all(
                "SELECT * FROM partners WHERE id < %s ORDER BY id DESC LIMIT %s",
                (page.starting_after, page.limit),
            )
        else:
            rows = self._ex.all("SELECT * FROM partners ORDER BY id DESC LIMIT %s", (page.limit,))
        return self._partners(rows)

    def partner_ids(self) -> list[str]:
        return [row["id"] for row in self._ex.all("SELECT id FROM partners ORDER BY id")]

    def reference_owners(self, funding_references: Sequence[str]) -> dict[str, ReferenceOwner]:
        found: dict[str, ReferenceOwner] = {}
        for chunk in chunks(funding_references, limits.IN_LIST_VALUES_MAX):
            for row in self._ex.all(
                "SELECT partner_id, currency, funding_reference FROM partner_currencies "
                f"WHERE funding_reference IN ({marks(len(chunk))})",
                chunk,
            ):
                found[row["funding_reference"]] = ReferenceOwner(
                    row["partner_id"], row["currency"], row["funding_reference"]
                )
        return found

    # api keys -----------------------------------------------------------------------------
    def insert_api_key(self, key: ApiKey) -> None:
        self._ex.run(
            f"INSERT INTO api_keys ({_KEY_INSERT_COLUMNS}) VALUES ({marks(10)})",
            (
                key.id,
                key.partner_id,
                key.role,
                key.mode,
                key.secret_hash,
                key.last4,
                key.created_at,
                key.revoked_at,
                key.hash_scheme,
                key.origin,
            ),
        )

    def get_api_key(self, key_id: str) -> ApiKey | None:
        row = first(self._ex.all(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = %s", (key_id,)))
        return None if row is None else key_from_row(row)

    def api_key_by_hash(self, secret_hash: str) -> ApiKey | None:
        row = first(
            self._ex.all(
                f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE secret_hash = %s", (secret_hash,)
            )
        )
        return None if row is None else key_from_row(row)

    def list_api_keys(self, partner_id: str) -> list[ApiKey]:
        rows = self._ex.all(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE partner_id = %s ORDER BY id DESC",
            (partner_id,),
        )
        return [key_from_row(row) for row in rows]

    def list_operator_keys(self) -> list[ApiKey]:
        rows = self._ex.all(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE partner_id IS NULL ORDER BY id DESC"
        )
        return [key_from_row(row) for row in rows]

    def upgrade_api_key_hash(self, key_id: str, old_hash: str, new_hash: str, scheme: str) -> None:
        self._ex.run(
            "UPDATE api_keys SET secret_hash = %s, hash_scheme = %s "
            "WHERE id = %s AND secret_hash = %s",
            (new_hash, scheme, key_id, old_hash),
        )

    def set_api_key_origin(self, key_id: str, origin: str | None) -> None:
        self._ex.run("UPDATE api_keys SET origin = %s WHERE id = %s", (origin, key_id))

    def note_api_key_use(self, key_id: str, used_at: str) -> None:
        self._ex.run("UPDATE api_keys SET last_used_at = %s WHERE id = %s", (used_at, key_id))

    def revoke_api_key(self, key_id: str, revoked_at: str) -> None:
        self._ex.run(
            "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
            (revoked_at, key_id),
        )

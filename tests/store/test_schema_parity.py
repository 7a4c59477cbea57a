"""The two migration trees (``migrations/sqlite``, ``migrations/postgres``) define one schema.

Goal: every migration is written twice, once per dialect, and nothing but review keeps the two
in step; a column, a unique key or an append-only trigger present in one dialect only would make
the stores behave differently (a write refused on one database and accepted on the other, a
field that reads back on one only). This test is that review, mechanically.

Method: migrate a fresh SQLite file and a fresh PostgreSQL database, read each schema back from
the database's own catalogue (``PRAGMA`` on SQLite, ``information_schema``/``pg_catalog`` on
PostgreSQL), reduce both to the same shape and compare:

- table names, and per table the column names, each column's type family (integer, text,
  blob) and whether it is required. Nullability is compared on columns outside the primary key
  only: PostgreSQL makes primary-key columns NOT NULL by definition, while SQLite (a historical
  quirk of rowid tables) lets a non-INTEGER primary-key column hold NULL unless declared NOT
  NULL, so on those columns the two are not comparable;
- primary keys (columns in order), unique indexes and unique constraints (by their set of
  columns, and whether the index is partial), foreign keys (columns and referenced columns);
- the triggers that reject UPDATE and DELETE: every table guarded by such a trigger in either
  dialect must be guarded against both, in both (the ledger tables at least).

A second test shows the comparison is not vacuous: it alters one database at a time (a column,
a unique index, a dropped trigger) and expects exactly that difference to be reported.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from zeropools.store.open import open_store
from zeropools.store.sqlite import path_from_url

pytestmark = pytest.mark.postgres

# DESIGN.md invariant 4, and events: what partners were told is never rewritten; nor is the
# webhook delivery log, nor reconciliation acknowledgements (who saw a failed or returned
# movement stays on record)
APPEND_ONLY_TABLES = {
    "ledger_entries",
    "platform_entries",
    "events",
    "webhook_deliveries",
    "reconciliation_acknowledgements",
    "periods",
    "period_checkpoints",
}
REJECTED_EVENTS = frozenset({"UPDATE", "DELETE"})

# Type families both databases can store a value of our domain in.
SQLITE_FAMILIES = {"INTEGER": "integer", "TEXT": "text", "BLOB": "blob"}
POSTGRES_FAMILIES = {
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "text": "text",
    "bytea": "blob",
}


@dataclass(frozen=True)
class Column:
    family: str
    required: bool | None  # None: not comparable (a primary-key column, see the docstring)


@dataclass
class Schema:
    columns: dict[str, dict[str, Column]] = field(default_factory=dict)
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (table, sorted columns, partial)
    unique_keys: set[tuple[str, tuple[str, ...], bool]] = field(default_factory=set)
    # (table, columns, referenced table, referenced columns)
    foreign_keys: set[tuple[str, tuple[str, ...], str, tuple[str, ...]]] = field(
        default_factory=set
    )
    # table -> the statement kinds its triggers reject
    rejected: dict[str, set[str]] = field(default_factory=dict)


def differences(sqlite: Schema, postgres: Schema) -> list[str]:
    """Every way the two schemas differ, one sentence each; empty when they agree."""
    found: list[str] = []

    def one_side(what: str, left: set[object], right: set[object]) -> None:
        found.extend(f"{what} only on SQLite: {item}" for item in sorted(left - right, key=str))
        found.extend(f"{what} only on PostgreSQL: {item}" for item in sorted(right - left, key=str))

    one_side("table", set(sqlite.columns), set(postgres.columns))
    for table in sorted(set(sqlite.columns) & set(postgres.columns)):
        left, right = sqlite.columns[table], postgres.columns[table]
        one_side(f"column of {table}", set(left), set(right))
        for name in sorted(set(left) & set(right)):
            if left[name].family != right[name].family:
                found.append(f"{table}.{name} is {left[name]} on SQLite, {right[name]} on PG")
            elif None not in (left[name].required, right[name].required) and (
                left[name].required != right[name].required
            ):
                found.append(f"{table}.{name} NOT NULL differs: {left[name]} vs {right[name]}")
    one_side("primary key", set(sqlite.primary_keys.items()), set(postgres.primary_keys.items()))
    one_side("unique key", set(sqlite.unique_keys), set(postgres.unique_keys))
    one_side("foreign key", set(sqlite.foreign_keys), set(postgres.foreign_keys))
    for table in sorted(set(sqlite.rejected) | set(postgres.rejected)):
        for name, schema in (("SQLite", sqlite), ("PostgreSQL", postgres)):
            missing = REJECTED_EVENTS - schema.rejected.get(table, set())
            if missing:
                found.append(f"{table} lets {sorted(missing)} through on {name}")
    return found


# SQLite's catalogue ----------------------------------------------------------------------------
def sqlite_schema(conn: sqlite3.Connection) -> Schema:
    schema = Schema()
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in tables:
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()
        schema.columns[table] = {
            name: Column(SQLITE_FAMILIES.get(kind.upper(), kind), None if pk else bool(notnull))
            for _, name, kind, notnull, _, pk in info
        }
        # table_info's last field is the column's position in the primary key (0: not in it)
        schema.primary_keys[table] = tuple(
            row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]
        )
        for _, index, unique, origin, partial in conn.execute(f"PRAGMA index_list({table})"):
            if unique and origin != "pk":
                columns = [row[2] for row in conn.execute(f"PRAGMA index_info({index})")]
                schema.unique_keys.add((table, tuple(sorted(columns)), bool(partial)))
        by_key: dict[int, list[tuple[str, str, str]]] = {}
        for key_id, _, target, source, target_column, *_ in conn.execute(
            f"PRAGMA foreign_key_list({table})"
        ):
            by_key.setdefault(key_id, []).append((target, source, target_column))
        for pairs in by_key.values():
            schema.foreign_keys.add(
                (table, tuple(p[1] for p in pairs), pairs[0][0], tuple(p[2] for p in pairs))
            )
    for table, sql in conn.execute("SELECT tbl_name, sql FROM sqlite_master WHERE type='trigger'"):
        text = " ".join(sql.upper().split())
        if "RAISE(ABORT" in text:
            events = {event for event in ("UPDATE", "DELETE") if f"BEFORE {event} ON" in text}
            schema.rejected.setdefault(table, set()).update(events)
    return schema


# PostgreSQL's catalogue -----------------------------------------------------------------------
_PG_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'NO' AS required
FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
"""
_PG_INDEXES = """
SELECT t.relname AS table_name, i.indisprimary, i.indpred IS NOT NULL AS partial,
       array_agg(a.attname ORDER BY k.ord) AS columns
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE i.indisunique
GROUP BY t.relname, i.indexrelid, i.indisprimary, i.indpred
"""
_PG_FOREIGN_KEYS = """
SELECT t.relname AS table_name, r.relname AS target,
       array_agg(a.attname ORDER BY k.ord) AS columns,
       array_agg(ra.attname ORDER BY k.ord) AS target_columns
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_class r ON r.oid = c.confrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, target_attnum, ord)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = k.target_attnum
WHERE c.contype = 'f'
GROUP BY t.relname, r.relname, c.oid
"""
# tgtype bits (pg_trigger.h): 2 BEFORE, 8 DELETE, 16 UPDATE. A trigger "rejects" when it runs
# before the change and its function raises.
_PG_TRIGGERS = """
SELECT t.relname AS table_name, (g.tgtype & 16) <> 0 AS on_update, (g.tgtype & 8) <> 0 AS on_delete
FROM pg_trigger g
JOIN pg_class t ON t.oid = g.tgrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
JOIN pg_proc p ON p.oid = g.tgfoid
WHERE NOT g.tgisinternal AND (g.tgtype & 2) <> 0 AND p.prosrc ILIKE '%RAISE EXCEPTION%'
"""


def postgres_schema(conn: psycopg.Connection[dict[str, Any]]) -> Schema:
    schema = Schema()
    for row in conn.execute(_PG_COLUMNS):
        kind = str(row["data_type"])
        schema.columns.setdefault(str(row["table_name"]), {})[str(row["column_name"])] = Column(
            POSTGRES_FAMILIES.get(kind, kind), bool(row["required"])
        )
    for row in conn.execute(_PG_INDEXES):
        table, columns = str(row["table_name"]), tuple(row["columns"])
        if row["indisprimary"]:
            schema.primary_keys[table] = columns
        else:
            schema.unique_keys.add((table, tuple(sorted(columns)), bool(row["partial"])))
    for table, pk in schema.primary_keys.items():
        for name in pk:  # not comparable with SQLite: see the module docstring
            schema.columns[table][name] = Column(schema.columns[table][name].family, None)
    for row in conn.execute(_PG_FOREIGN_KEYS):
        schema.foreign_keys.add(
            (
                str(row["table_name"]),
                tuple(row["columns"]),
                str(row["target"]),
                tuple(row["target_columns"]),
            )
        )
    for row in conn.execute(_PG_TRIGGERS):
        events = {"UPDATE"} if row["on_update"] else set()
        events |= {"DELETE"} if row["on_delete"] else set()
        schema.rejected.setdefault(str(row["table_name"]), set()).update(events)
    return schema


# fixtures -------------------------------------------------------------------------------------
@dataclass
class Databases:
    sqlite: sqlite3.Connection
    postgres: psycopg.Connection[dict[str, Any]]

    def differences(self) -> list[str]:
        return differences(sqlite_schema(self.sqlite), postgres_schema(self.postgres))


@pytest.fixture
def migrated(tmp_path: Path, pg_url: str) -> Iterator[Databases]:
    """A fresh SQLite file and PostgreSQL database, each migrated by its own store."""
    sqlite_url = f"sqlite:///{tmp_path / 'parity.db'}"
    for url in (sqlite_url, pg_url):
        store = open_store(url)
        try:
            assert store.migrate(), "nothing migrated"
        finally:
            store.close()
    lite = sqlite3.connect(path_from_url(sqlite_url), isolation_level=None)
    try:
        with psycopg.connect(pg_url, autocommit=True, row_factory=psycopg.rows.dict_row) as pg:
            yield Databases(lite, pg)
    finally:
        lite.close()


# tests ----------------------------------------------------------------------------------------
def test_both_migration_trees_define_the_same_tables_columns_keys_and_guards(
    migrated: Databases,
) -> None:
    sqlite, postgres = sqlite_schema(migrated.sqlite), postgres_schema(migrated.postgres)
    assert differences(sqlite, postgres) == []

    # and the comparison had something to compare
    assert {"partners", "ledger_entries", "payins", "trades"} <= set(sqlite.columns)
    assert ("ledger_entries", ("partner_id", "sequence")) in sqlite.primary_keys.items()
    assert ("payins", ("bank_transaction_id",), False) in postgres.unique_keys
    assert ("ledger_entries", ("payin_id",), True) in postgres.unique_keys  # partial
    assert ("ledger_entries", ("partner_id",), "partners", ("id",)) in sqlite.foreign_keys
    for schema in (sqlite, postgres):
        assert set(schema.rejected) == APPEND_ONLY_TABLES
        assert all(schema.rejected[table] == REJECTED_EVENTS for table in APPEND_ONLY_TABLES)


def test_a_column_unique_index_or_guard_in_one_dialect_only_is_reported(
    migrated: Databases,
) -> None:
    lite, pg = migrated.sqlite.execute, migrated.postgres.execute
    assert migrated.differences() == []

    lite("ALTER TABLE payins ADD COLUMN note TEXT")
    assert migrated.differences() == ["column of payins only on SQLite: note"]
    pg("ALTER TABLE payins ADD COLUMN note text NOT NULL DEFAULT ''")
    assert migrated.differences() == ["payins.note NOT NULL differs: " + _pair("text", False, True)]
    pg("ALTER TABLE payins ALTER COLUMN note DROP NOT NULL")
    assert migrated.differences() == []

    pg("CREATE UNIQUE INDEX trades_one_per_order ON trades (partner_order_id, partner_id)")
    assert migrated.differences() == [
        "unique key only on PostgreSQL: ('trades', ('partner_id', 'partner_order_id'), False)"
    ]
    # the same columns in another order are the same uniqueness; a partial index is not
    lite("CREATE UNIQUE INDEX trades_one_per_order ON trades (partner_id, partner_order_id)")
    assert migrated.differences() == []
    lite("CREATE UNIQUE INDEX quotes_order ON quotes (partner_order_id) WHERE pool_id = 'x'")
    pg("CREATE UNIQUE INDEX quotes_order ON quotes (partner_order_id)")
    assert migrated.differences() == [
        "unique key only on SQLite: ('quotes', ('partner_order_id',), True)",
        "unique key only on PostgreSQL: ('quotes', ('partner_order_id',), False)",
    ]
    lite("DROP INDEX quotes_order")
    pg("DROP INDEX quotes_order")

    lite("DROP TRIGGER platform_entries_no_delete")
    assert migrated.differences() == ["platform_entries lets ['DELETE'] through on SQLite"]


def _pair(family: str, sqlite_required: bool, postgres_required: bool) -> str:
    return f"{Column(family, sqlite_required)} vs {Column(family, postgres_required)}"

"""Versioned SQL migrations, one folder per dialect: ``NNNN_name.sql``.

Versions run 1, 2, 3, ... without gaps and each number once: a database applies whichever
versions it lacks, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    folder = resources.files(__package__).joinpath(dialect)
    found = []
    for item in folder.iterdir():
        if item.name.endswith(".sql"):
            number, _, rest = item.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), item.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    assert versions == list(range(1, len(versions) + 1)), "migration gap or duplicate number"
    return found


SCHEMA_MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def pending_names(dialect: str, applied: set[int]) -> list[str]:
    return [f"{m.version:04d}_{m.name}" for m in migrations(dialect) if m.version not in applied]

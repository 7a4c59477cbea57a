"""Versioned SQL migrations, one folder per dialect: ``NNNN_name.sql``.

Versions run 1, 2, 3, ... without gaps, except a version claimed by a branch not merged yet
(``CLAIMED_ELSEWHERE``): a later migration may land first, and the claimed one applies when it
arrives (a database applies whichever versions it lacks, in order). Once the claimed file is
here, its entry is redundant and may go.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

# version -> who holds it: 0006 is the webhook deliveries' (being built on another branch)
CLAIMED_ELSEWHERE = {6: "webhook_deliveries"}


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
    assert len(set(versions)) == len(versions), "two migrations share a version"
    covered = set(versions) | {v for v in CLAIMED_ELSEWHERE if v < max(versions, default=0)}
    assert covered == set(range(1, len(covered) + 1)), "migration gap"
    return found


SCHEMA_MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def pending_names(dialect: str, applied: set[int]) -> list[str]:
    return [f"{m.version:04d}_{m.name}" for m in migrations(dialect) if m.version not in applied]

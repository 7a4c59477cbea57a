"""Backups of a live database, consistent while the API keeps writing.

SQLite: the online backup API (``sqlite3.Connection.backup``), which copies pages under a read
lock and restarts on a concurrent write, so the copy is one committed moment of the database,
WAL included. The copy is written beside the destination first and renamed into place, so a
crash mid-way never leaves a half file under the destination's name.

PostgreSQL: ``pg_dump --format=custom`` (one REPEATABLE READ snapshot of every table; restore
with ``pg_restore --dbname URL FILE``). It must be on ``PATH`` (Debian: ``postgresql-client``)
and of the server's major version or newer.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from zeropools.store.sqlite import path_from_url

# pages copied per step of the SQLite backup: small steps let writers in between
SQLITE_BACKUP_PAGES_PER_STEP = 1024


class BackupFailed(Exception):
    """The copy could not be made; nothing was left at the destination."""


@dataclass(frozen=True)
class Backup:
    dialect: str
    path: Path
    size_bytes: int


def backup(url: str, dest: Path) -> Backup:
    """Copy the database at ``url`` to the file ``dest`` (replaced if it exists)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if url.startswith("sqlite:///"):
            dialect = "sqlite"
            _sqlite_backup(path_from_url(url), partial)
        elif url.startswith(("postgresql://", "postgres://")):
            dialect = "postgres"
            _pg_dump(url, partial)
        else:
            raise BackupFailed(f"unsupported database URL {url!r}")
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(dialect, dest, dest.stat().st_size)


def _sqlite_backup(source: Path, partial: Path) -> None:
    if not source.is_file():
        raise BackupFailed(f"no SQLite database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst, pages=SQLITE_BACKUP_PAGES_PER_STEP)
        # a self-contained file: no WAL beside it to lose when it is copied elsewhere
        dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupFailed(f"SQLite backup of {source} failed: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _pg_dump(url: str, partial: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupFailed("pg_dump is not on PATH (Debian: apt-get install postgresql-client)")
    # the URL goes as --dbname, never through a shell; a password in it stays out of ps output
    # only if given by PGPASSWORD or ~/.pgpass instead, which pg_dump reads itself
    done = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={url}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupFailed(f"pg_dump failed ({done.returncode}): {done.stderr.strip()}")

"""Finance export of a million-entry day: time and peak RSS, against the database's own dump.

Method: one partner gets N ``adjustment`` entries of +0.01 EUR on one past day, generated in SQL
(a recursive CTE on SQLite, ``generate_series`` on PostgreSQL) with a consistent roll-forward and
chain links (the hashes are placeholders: the export checks balances and links, not hashes).
Then, each in a fresh process measured with ``/usr/bin/time -v`` (wall, CPU, peak RSS), the
median of ROUNDS runs:

- ``zeropools export`` of that day (CSV from one read snapshot, roll-forward checked, written
  in one pass with its sha256 to FILE.sha256);
- the same rows dumped by the database: ``sqlite3 -csv`` / ``psql -c "COPY ... TO STDOUT"``;

and the ratio of the two (issue 13's target: at most 2x, peak RSS at most 150 MB). On SQLite,
then PostgreSQL (``--skip-pg``: SQLite only). Prints figures only. Usage:
  .venv/bin/python bench/export.py [--n 1000000] [--rounds 3] [--pg ADMIN_URL] [--skip-pg]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from common import PG_ADMIN, Measured, database, measured, ratio

from zeropools.bootstrap import initialize
from zeropools.store.open import open_store

PARTNER = "partner_01BENCHEXPORT000000000000"
_ROWS_SQL = """
INSERT INTO ledger_entries (partner_id, sequence, id, type, currency, amount_minor,
  available_after_minor, reserved_after_minor, lines, reason, request_id, created_at,
  prev_hash, hash, hash_version)
SELECT '{partner}', i, 'ple_bench' || i, 'adjustment', 'EUR', 1, i, 0,
  '[["available",1],["platform:adjustments",-1]]', 'bench', 'req_bench',
  '{day}T08:00:00.' || substr('000000' || (i % 1000000), -6, 6) || 'Z',
  CASE WHEN i = 1 THEN '{genesis}' ELSE 'h' || (i - 1) END, 'h' || i, 2
FROM {series}
"""


def seed(url: str, n: int, day: str) -> None:
    store = open_store(url)
    initialize(store, "test")
    store.close()
    sqlite = url.startswith("sqlite")
    series = (
        f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
        "SELECT i FROM s)"
        if sqlite
        else f"generate_series(1, {n}) AS s(i)"
    )
    statements = [
        "INSERT INTO partners (id, name, balance_model, created_at, ledger_sequence, ledger_hash) "
        f"VALUES ('{PARTNER}', 'Bench', 'debit', '{day}T00:00:00.000000Z', {n}, 'h{n}')",
        "INSERT INTO partner_currencies (partner_id, currency, funding_reference, "
        f"available_minor) VALUES ('{PARTNER}', 'EUR', 'RF18BENCH{uuid.uuid4().hex[:8]}', {n})",
        _ROWS_SQL.format(partner=PARTNER, day=day, genesis="0" * 64, series=series),
    ]
    if sqlite:
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            for sql in statements:
                conn.execute(sql)
        conn.close()
    else:
        with psycopg.connect(url, autocommit=False) as conn:
            for sql in statements:
                conn.execute(sql.encode())
            conn.commit()


def median_of(rounds: int, argv: list[str], out: Path) -> Measured:
    """The run of median wall time among ``rounds`` runs of ``argv``."""
    runs = sorted((measured(argv, out) for _ in range(rounds)), key=lambda m: m.wall_s)
    return runs[len(runs) // 2]


def run(label: str, url: str, n: int, rounds: int, work: Path) -> None:
    day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    started = time.perf_counter()
    seed(url, n, day)
    print(f"{label}: {n} entries on one day (set-up {time.perf_counter() - started:.0f} s)")
    cli = str(Path(sys.executable).with_name("zeropools"))
    target = work / f"{label}.csv"
    ours = median_of(
        rounds,
        [cli, "export", "--db", url, "--partner", PARTNER, "--date", day, "--out", str(target)],
        work / f"{label}.log",
    )
    size = target.stat().st_size
    print(f"  zeropools export (CSV, {size >> 20} MiB), median of {rounds}: {ours.text()}")
    query = (
        "SELECT sequence, id, created_at, type, amount_minor, available_after_minor, "
        "reserved_after_minor, request_id, hash, prev_hash FROM ledger_entries "
        f"WHERE partner_id = '{PARTNER}' AND currency = 'EUR' ORDER BY sequence"
    )
    if label == "sqlite":
        argv = ["sqlite3", "-csv", url.removeprefix("sqlite:///"), query]
        name = "sqlite3 -csv"
    else:
        argv = ["psql", url, "-c", f"COPY ({query}) TO STDOUT WITH (FORMAT csv)"]
        name = "COPY TO STDOUT"
    theirs = median_of(rounds, argv, work / f"{label}.dump.csv")
    size = (work / f"{label}.dump.csv").stat().st_size
    print(f"  {name} ({size >> 20} MiB), median of {rounds}: {theirs.text()}")
    print(
        f"  ratio export / {name}: {ratio(ours.wall_s, theirs.wall_s)} wall, "
        f"{ratio(ours.cpu_s, theirs.cpu_s)} CPU (target: <= 2x; peak RSS target <= 150 MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=PG_ADMIN)
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for label in ("sqlite",) if args.skip_pg else ("sqlite", "postgres"):
            with database(label, args.pg) as url:
                run(label, url, args.n, args.rounds, Path(folder))


if __name__ == "__main__":
    main()

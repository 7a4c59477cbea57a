"""Test set-up: what one test's database costs, migrated from empty against cloned.

Method: ROUNDS rounds; in each, every way of getting a migrated, test-mode database is run N
times (a store opened on it, a 0.3 s stand-in for the test, the database dropped), the ways
interleaved so a shared, noisy machine weighs on all alike. Figures are medians per database
of the set-up and tear-down around the test (the stand-in subtracted):

- PostgreSQL ``migrate``: an empty database (``throwaway_pg_database``), migrated and
  initialized by ``open_test_store`` - what every PostgreSQL test paid before templates.
- PostgreSQL ``clone, in line``: ``CREATE DATABASE ... TEMPLATE`` of a migrated template, then
  ``DROP DATABASE`` after the test, both waited for.
- PostgreSQL ``clone ahead``: ``support.migrated_pg_database`` (the fixtures' way): the clone
  made by a background thread while the previous test ran, the drop done behind.
- SQLite ``migrate`` against ``copy``: a new file migrated, against the template file copied
  (what ``open_test_store`` does for a file that does not exist yet).

Prints figures only; nothing here asserts on time.

Usage: .venv/bin/python bench/database_setup.py [--n 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support import databases  # tests/ is put on the path just above

TEST_S = 0.3  # the stand-in for a test's own work


@contextmanager
def clone_in_line() -> Iterator[str]:
    name = f"zp_bench_clone_{time.time_ns()}"
    databases._admin(f'CREATE DATABASE "{name}" TEMPLATE "{databases._pg_template()}"')
    try:
        yield databases._pg_url_of(name)
    finally:
        databases._drop(name)


@contextmanager
def sqlite_file(template: bool) -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="zp_bench_"))
    try:
        url = databases.sqlite_url(folder)
        # open_test_store copies the template for a new file unless told not to
        databases.open_test_store(url, template=template).close()
        yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


WAYS: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "PostgreSQL migrate": lambda: databases.throwaway_pg_database("zp_bench"),
    "PostgreSQL clone, in line": clone_in_line,
    "PostgreSQL clone ahead": lambda: databases.migrated_pg_database("zp_bench"),
    "SQLite migrate": lambda: sqlite_file(template=False),
    "SQLite copy": lambda: sqlite_file(template=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    databases._pg_template()  # made once, as the first test of a worker makes it
    databases._sqlite_template()
    seconds: dict[str, list[float]] = {way: [] for way in WAYS}
    for _ in range(args.rounds):
        for way, make in WAYS.items():
            for _ in range(args.n):
                start = time.perf_counter()
                with make() as url, databases.opened_store(url):
                    time.sleep(TEST_S)
                seconds[way].append(time.perf_counter() - start - TEST_S)
    for way, figures in seconds.items():
        print(f"{way:28} {statistics.median(figures) * 1000:6.0f} ms per test (median)")


if __name__ == "__main__":
    main()

"""Statement import: time to parse and to import a 10,000-credit camt.053 on SQLite and PostgreSQL.

Method: one camt.053 of N credit entries (written with ``tests/unit/bankfiles/generate.py``;
nine in ten carry one of three partners' references, half structured and half in the free
text, the rest go to review) is imported through the service layer (``imports.import_statement``,
what ``POST /v1/payins/import`` and ``zeropools import-statement`` call) into a fresh throwaway
database, ROUNDS times; each figure is the median. The baseline, measured in the same run, is
parsing the file alone (``parse_statement``, no database): the ratio import/parse says how
much the recording of pay-ins, their ledger entries and the durable commits add to reading the
file. The re-import of the same file (all duplicates) is shown too. Prints figures only;
nothing here asserts on time.

Usage: .venv/bin/python bench/import_statement.py [--n 10000] [--rounds 3] [--pg URL]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import psycopg

from zeropools.bankfiles import parse_statement
from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.services import imports, partners
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.store.open import open_store

GENERATOR = Path(__file__).resolve().parents[1] / "tests" / "unit" / "bankfiles" / "generate.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zp_bench_camt_generate", GENERATOR)
    assert spec is not None and spec.loader is not None, GENERATOR
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def ctx() -> Ctx:
    return Ctx(ids.new_id(ids.REQUEST), datetime.now(UTC), Actor("bench", "operator", None))


def statement(generate: ModuleType, n: int, refs: list[str]) -> bytes:
    entries = []
    for index in range(n):
        reference = refs[index % len(refs)]
        if index % 10 == 0:
            detail = generate.Detail(end_to_end_id=f"E2E-{index:06d}", unstructured=("no ref",))
        elif index % 2:
            detail = generate.Detail(end_to_end_id=f"E2E-{index:06d}", reference=reference)
        else:
            text = (f"top-up {index}", reference.lower())
            detail = generate.Detail(end_to_end_id=f"E2E-{index:06d}", unstructured=text)
        amount = f"{index % 997 + 1}.{index % 100:02d}"
        entries.append(generate.Entry(amount=amount, details=(detail,)))
    data: bytes = generate.camt053(entries)
    return data


def timed(rounds: int, op: Callable[[], None]) -> float:
    """Median seconds of ``rounds`` runs of ``op``."""
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        op()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"zp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh(url: str) -> Deployment:
    store = open_store(url)
    initialize(store, "test")
    return deployment(Settings(db_url=url), store)


def _references(dep: Deployment, count: int) -> list[str]:
    return [
        partners.create_partner(
            dep, ctx(), name=f"bench {n}", balance_model="debit", currencies=["EUR"]
        )
        .partner.currencies[0]
        .funding_reference
        for n in range(count)
    ]


def run(
    label: str,
    databases: Callable[[], AbstractContextManager[str]],
    generate: ModuleType,
    n: int,
    rounds: int,
) -> None:
    imports_s, reimports_s, parses_s = [], [], []
    for _ in range(rounds):
        with databases() as url:
            dep = _fresh(url)
            try:
                data = statement(generate, n, _references(dep, 3))
                parses_s.append(timed(1, lambda data=data: parse_statement(data)))
                summary = None

                def once(dep: Deployment = dep, data: bytes = data) -> None:
                    nonlocal summary
                    summary = imports.import_statement(dep, ctx(), data)

                imports_s.append(timed(1, once))
                assert summary is not None and summary.credits == n, summary
                assert summary.credited == n - (n + 9) // 10, summary
                reimports_s.append(timed(1, once))
                assert summary.duplicates == n, summary
            finally:
                dep.store.close()
    parse = statistics.median(parses_s)
    full = statistics.median(imports_s)
    again = statistics.median(reimports_s)
    print(f"{label:8} parse only (baseline) {parse:6.2f} s  {n / parse:8.0f} credits/s")
    print(
        f"{label:8} import (incl. parse) {full:6.2f} s  {n / full:8.0f} credits/s  "
        f"({full / parse:.1f} x parse)"
    )
    print(
        f"{label:8} re-import (all dups) {again:6.2f} s  {n / again:8.0f} credits/s  "
        f"({again / parse:.1f} x parse)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    generate = _generator()
    print(f"camt.053 with {args.n} credit entries, median of {args.rounds} runs")
    run("sqlite", sqlite_database, generate, args.n, args.rounds)
    run("postgres", lambda: postgres_database(args.pg), generate, args.n, args.rounds)


if __name__ == "__main__":
    main()

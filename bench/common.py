"""What the bulk benches (export, verify, match) share: throwaway databases, a child process
measured by ``/usr/bin/time``, and a ledger seeded fast with correctly chained entries.

Why a child under ``/usr/bin/time -v``: peak RSS must be the command's own (the parent holds
the generated data), and on a shared machine the CPU seconds (user + sys) are the steadier
figure next to the wall time, so both are printed.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from zeropools.domain import ids
from zeropools.services import partners, payins
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.services.partners import NewPartner

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float  # user + system
    peak_rss_bytes: int

    def text(self) -> str:
        return (
            f"{self.wall_s:.2f} s wall, {self.cpu_s:.2f} s CPU, "
            f"peak RSS {self.peak_rss_bytes / 2**20:.0f} MiB"
        )


def measured(argv: list[str], stdout: Path | None = None) -> Measured:
    """Run ``argv`` (its stdout to ``stdout`` or discarded) under ``/usr/bin/time -v``."""
    started = time.perf_counter()
    with open(stdout or "/dev/null", "wb") as handle:
        done = subprocess.run(
            ["/usr/bin/time", "-v", *argv], stdout=handle, stderr=subprocess.PIPE, check=False
        )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr[-2000:].decode(errors='replace')}")

    def field(name: str) -> float:
        found = re.search(rf"{re.escape(name)}: ([0-9.]+)".encode(), done.stderr)
        assert found, done.stderr[-500:]
        return float(found.group(1))

    cpu = field("User time (seconds)") + field("System time (seconds)")
    return Measured(wall, cpu, int(field("Maximum resident set size (kbytes)")) * 1024)


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="zp_bench_") as folder:
        yield f"sqlite:///{folder}/bench.db"


@contextmanager
def pg_database(admin_url: str = PG_ADMIN) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"zp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@contextmanager
def database(label: str, admin_url: str = PG_ADMIN) -> Iterator[str]:
    """``sqlite`` or ``postgres``: a throwaway database of that kind."""
    with sqlite_database() if label == "sqlite" else pg_database(admin_url) as url:
        yield url


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs > 0 else "n/a"


def bench_ctx(role: str, partner_id: str | None = None, now: datetime | None = None) -> Ctx:
    """A service-layer context for a bench's own set-up and load (``now``: the clock reading
    to use, e.g. one per round so a slow round's quotes stay valid)."""
    return Ctx(ids.new_id(ids.REQUEST), now or datetime.now(UTC), Actor("bench", role, partner_id))


def funded_partner(dep: Deployment, name: str, amount: str) -> NewPartner:
    """A debit-model EUR partner credited ``amount`` by a booked bank credit."""
    created = partners.create_partner(
        dep, bench_ctx("operator"), name=name, balance_model="debit", currencies=["EUR"]
    )
    note = payins.notification(
        dep,
        bank_transaction_id=f"fund-{uuid.uuid4()}",
        amount=amount,
        currency="EUR",
        booking_status="booked",
        reference=created.partner.currencies[0].funding_reference,
    )
    payins.record_payin(dep, bench_ctx("operator"), note)
    return created

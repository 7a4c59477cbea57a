"""Matching a 100,000-row partner order file: wall time and peak memory (issue 9).

Method: a fresh database (SQLite, then PostgreSQL) with one partner and N debited
trades spread over 2026-11-23, written in one transaction through the store (the ledger's
``append`` still checks and chains every entry), so the set-up is one transaction rather than
the 2N API round trips a real day would take. From those trades, an order file of N rows that
differs from the ledger the way a partner's books do: half the rows name our trade id, a fifth
only our order id, a fifth carry the partner's own order number (matched by amount and time,
within 60 s), one in twenty has another amount, one in twenty cannot be read. Written once as
CSV and once as JSON lines.

Each measurement runs in a fresh child process: ``services.matching.match_file`` plus the
streamed JSON answer written to /dev/null (what ``POST /v1/reconciliation/match`` does, the
file read three times since no ``date`` is given), reporting its wall time and its peak RSS:
``VmHWM`` of ``/proc/self/status``, because ``getrusage``'s ``ru_maxrss`` survives ``exec`` on
Linux and would report the parent's peak (it holds the whole generated day), falling back to
``getrusage`` where there is no ``/proc``. A second child repeats the match under
``tracemalloc`` for the peak of Python allocations (tracing slows it, so its time is not
reported). The baseline is a child that imports everything and opens the store, then stops:
peak RSS minus the baseline is what matching the file cost. Prints figures only; nothing here
asserts on time.

Each figure is the median of ROUNDS such children (wall and CPU seconds, peak RSS), on SQLite
and then PostgreSQL (``--skip-pg``: SQLite only).

Usage: .venv/bin/python bench/match.py [--n 100000] [--rounds 3] [--pg URL] [--skip-pg]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import PG_ADMIN, database

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids, trades
from zeropools.domain.ledger import EntryDraft, Links
from zeropools.domain.quotes import OPEN, Quote
from zeropools.representations import objects as views
from zeropools.services import matching, partners, payins
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.services.ledger import post
from zeropools.store.open import open_store
from zeropools.store.protocol import Tx

DAY = datetime(2026, 11, 23, tzinfo=UTC)
HEADER = ("partner_order_id", "amount", "currency", "created_at", "trade_id", "status")


def ctx(now: datetime | None = None) -> Ctx:
    return Ctx(ids.new_id(ids.REQUEST), now or datetime.now(UTC), Actor("bench", "operator", None))


def seed(dep: Deployment, n: int) -> tuple[str, list[dict[str, str]]]:
    """A partner with ``n`` debited trades on DAY; the partner id and the file's rows."""
    new = partners.create_partner(
        dep, ctx(), name="Bench", balance_model="debit", currencies=["EUR"]
    )
    partner_id = new.partner.id
    reference = new.partner.currencies[0].funding_reference
    note = payins.notification(
        dep,
        bank_transaction_id="bench-funding",
        amount="20000000000.00",
        currency="EUR",
        booking_status="booked",
        reference=reference,
    )
    payins.record_payin(dep, ctx(DAY), note)
    rng = random.Random(9)
    amounts = rng.sample(range(1_000, 10_000_000), n)  # distinct, 10.00 to 99,999.99 EUR
    moments = sorted(DAY + timedelta(microseconds=rng.randrange(86_400 * 10**6)) for _ in range(n))
    made: list[tuple[str, str, int, datetime]] = []

    def write(tx: Tx) -> None:
        request = ctx(DAY + timedelta(days=1))
        drafts = []
        for index, (amount, moment) in enumerate(zip(amounts, moments, strict=True)):
            order = f"ord-{index:06d}"
            quote = Quote(
                id=ids.new_id("pq_test_"),
                partner_id=partner_id,
                pool_id="EUR-USDT",
                source_currency="EUR",
                source_amount_minor=amount,
                target_asset="USDT",
                target_amount_minor=amount * 10_000,
                rate="1.0",
                fee_minor=0,
                fee_bps=0,
                created_at=moment,
                expires_at=moment + timedelta(seconds=30),
                status=OPEN,
                partner_order_id=order,
            )
            tx.insert_quote(quote, request.request_id)
            change = trades.open_trade(
                quote,
                trade_id=ids.new_id("pt_test_"),
                partner_order_id=order,
                balance_model="debit",
                now=moment,
            )
            tx.insert_trade(change.trade, request.request_id)
            for movement in change.movements:
                links = Links(trade_id=change.trade.id, quote_id=quote.id, partner_order_id=order)
                drafts.append(EntryDraft(movement.entry_type, "EUR", movement.lines(), links))
            made.append((change.trade.id, order, amount, moment))
        post(dep, request, tx, partner_id, drafts)

    dep.store.write(write)
    rows = []
    for index, (trade_id, order, amount, moment) in enumerate(made):
        kind = index % 20
        row = {
            "partner_order_id": order,
            "amount": f"{amount // 100}.{amount % 100:02d}",
            "currency": "EUR",
            "created_at": moment.isoformat(),
            "trade_id": trade_id if kind < 10 else "",
            "status": "debited",
        }
        if kind in (14, 15, 16, 17):  # their own numbering, their own clock
            row["partner_order_id"] = f"acme-{index}"
            row["created_at"] = (moment + timedelta(seconds=rng.randrange(-60, 60))).isoformat()
        elif kind == 18:
            row["amount"] = f"{amount // 100 + 1}.00"
        elif kind == 19:
            row["amount"] = "n/a"
        rows.append(row)
    rng.shuffle(rows)
    return partner_id, rows


def write_files(rows: list[dict[str, str]], folder: Path) -> dict[str, Path]:
    csv_path, jsonl_path = folder / "orders.csv", folder / "orders.jsonl"
    with csv_path.open("w") as out:
        out.write(",".join(HEADER) + "\n")
        for row in rows:
            out.write(",".join(row[name] for name in HEADER) + "\n")
    with jsonl_path.open("w") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    return {"csv": csv_path, "jsonl": jsonl_path}


# -- the child ---------------------------------------------------------------------------------


def peak_rss_bytes() -> int:
    """This process's peak resident set since its ``exec`` (see the module docstring)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def child(url: str, partner_id: str, path: str, mode: str) -> None:
    """One measurement in this fresh process; prints one JSON line."""
    if mode == "trace":
        tracemalloc.start()
    dep = deployment(Settings(db_url=url))
    figures: dict[str, object] = {}
    if mode != "baseline":
        media = "text/csv" if path.endswith(".csv") else "application/x-ndjson"
        request = Ctx(ids.new_id(ids.REQUEST), datetime.now(UTC), Actor("bench", "operator", None))
        start, cpu = time.perf_counter(), time.process_time()
        with open(path, "rb") as file, open(os.devnull, "wb") as sink:
            run = matching.match_file(
                dep, request, partner_id=partner_id, file=file, media_type=media
            )
            for chunk in views.match_json(run.summary, run.items(), request.request_id):
                sink.write(chunk)
        figures["seconds"] = time.perf_counter() - start
        figures["cpu_seconds"] = time.process_time() - cpu
        counts = run.summary.counts
        figures["summary"] = {
            "rows": run.summary.rows_read,
            "matched": counts.matched,
            "mismatched": counts.mismatched,
            "missing_in_ledger": counts.missing_in_ledger,
            "missing_in_file": counts.missing_in_file,
            "invalid": run.summary.invalid,
            "by_tier": dict(counts.by_tier),
        }
    if mode == "trace":
        figures["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    figures["peak_rss_bytes"] = peak_rss_bytes()
    dep.store.close()
    print(json.dumps(figures))


def measure(url: str, partner_id: str, path: Path | str, mode: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", url, partner_id, str(path), mode],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run(label: str, url: str, n: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="zp_bench_match_") as tmp:
        folder = Path(tmp)
        store = open_store(url)
        initialize(store, "test")
        started = time.perf_counter()
        partner_id, rows = seed(deployment(Settings(db_url=url), store), n)
        store.close()
        files = write_files(rows, folder)
        print(f"{label}: {n} trades and file rows (set-up {time.perf_counter() - started:.1f} s)")
        base = measure(url, partner_id, "-", "baseline")
        base_rss = int(base["peak_rss_bytes"])  # type: ignore[call-overload]
        print(f"  baseline (imports, store opened): peak RSS {base_rss / 2**20:.0f} MiB")
        for kind, path in files.items():
            plain = [measure(url, partner_id, path, "plain") for _ in range(rounds)]
            traced = measure(url, partner_id, path, "trace")
            seconds = statistics.median(float(p["seconds"]) for p in plain)  # type: ignore[arg-type]
            cpu = statistics.median(float(p["cpu_seconds"]) for p in plain)  # type: ignore[arg-type]
            rss = int(statistics.median(int(p["peak_rss_bytes"]) for p in plain))  # type: ignore[call-overload]
            traced_peak = int(traced["traced_peak_bytes"])  # type: ignore[call-overload]
            size = path.stat().st_size
            print(
                f"  {kind:5} ({size / 2**20:.1f} MiB), median of {rounds}: {seconds:.2f} s wall, "
                f"{cpu:.2f} s CPU ({n / seconds:,.0f} rows/s), peak RSS {rss / 2**20:.0f} MiB "
                f"(+{(rss - base_rss) / 2**20:.0f} MiB over the baseline), peak Python "
                f"allocations {traced_peak / 2**20:.0f} MiB"
            )
            print(f"        {plain[0]['summary']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=PG_ADMIN, help="a PostgreSQL admin URL")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("URL", "PARTNER", "FILE", "MODE"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    for label in ("sqlite",) if args.skip_pg else ("sqlite", "postgres"):
        with database(label, args.pg) as url:
            run(label, url, args.n, args.rounds)


if __name__ == "__main__":
    main()

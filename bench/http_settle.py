"""Settling trades over HTTP: ``POST /v1/trades/{id}/settle`` at 64 connections, same run.

Method: one funded partner and enough executed trades (made through the service layer, as
``POST /v1/trades`` makes them) that no settle is ever a replay; an operator key. wrk (64
connections, 2 threads) settles distinct trades, each with its own ``Idempotency-Key``; the
warm-up and each measured run take their own slice of the trades. Scenarios: this tree and,
with ``--before-src``, an older ``src/`` tree served from ``PYTHONPATH`` (interleaved, round by
round), on SQLite and PostgreSQL (a throwaway database, dropped after). Figures: settles per
second, p50/p99 (wrk's), answers other than 200, and the server's CPU per request (from /proc).
Medians of ROUNDS rounds. Prints figures only; nothing asserts on time.

Usage: .venv/bin/python bench/http_settle.py [--duration 5] [--rounds 2] [--connections 64]
       [--before-src DIR] [--only sqlite|postgres] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import psycopg
from common import PG_ADMIN, bench_ctx
from hot_partner import service_async_rate
from http_execute import (
    BIN,
    LUA_REPORT,
    PEPPER,
    Figures,
    funded_partners,
    lua_table,
    measure,
    median,
    throwaway_pg,
)

from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.services import partners
from zeropools.store.open import open_store

EXECUTIONS_AT_ONCE = 2000

LUA = """
local ids = %(ids)s
local key = %(key)s
local threads = {}

function setup(thread)
  thread:set("first", #threads)
  table.insert(threads, thread)
end

function init(args)
  -- the names bench/http_execute.py's report sums: settles count as its "trades"
  quotes, trades, refused, sample, step = 0, 0, 0, "", 0
end

function request()
  local id = ids[first + step * 2 + 1]
  step = step + 1
  if id == nil then id = ids[1] end  -- out of trades: a replay, counted as refused below
  local h = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json",
             ["Idempotency-Key"] = "settle-" .. id}
  return wrk.format("POST", "/v1/trades/" .. id .. "/settle", h, "{}")
end

function response(status, hdrs, body)
  if status == 200 and hdrs["Idempotent-Replayed"] == nil then
    trades = trades + 1
  else
    refused = refused + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 300) end
  end
end

"""


def seed(url: str, trades: int) -> tuple[str, list[str]]:
    """An operator key's secret and ``trades`` open trades' ids of one funded partner."""
    partner_id = next(iter(funded_partners(url, 1)))
    dep = deployment(Settings(db_url=url, key_pepper=PEPPER), open_store(url))
    try:
        for start in range(0, trades, EXECUTIONS_AT_ONCE):
            service_async_rate(dep, partner_id, min(EXECUTIONS_AT_ONCE, trades - start), 64)
        secret = partners.issue_operator_key(dep, bench_ctx("operator")).secret
    finally:
        dep.store.close()
    query = "SELECT id FROM trades ORDER BY id"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            ids = [row[0] for row in conn.execute(query)]
    else:
        with psycopg.connect(url) as pg:
            ids = [row[0] for row in pg.execute(query)]
    return secret, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--slice", type=int, default=3000, help="trades per wrk run")
    parser.add_argument("--before-src", help="also serve an older src/ tree (PYTHONPATH)")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pg", default=PG_ADMIN)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    trees = [("this tree", "")] + ([("BEFORE", args.before_src)] if args.before_src else [])
    runs = args.rounds * len(trees)

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder, results = Path(tmp), dict[str, list[Figures]]()
        log = folder / "servers.log"
        stores = []
        if args.only in (None, "sqlite"):
            stores.append(("sqlite", f"sqlite:///{folder}/bench.db"))
        if args.only in (None, "postgres"):
            stores.append(("postgres", stack.enter_context(throwaway_pg(args.pg))))
        for label, url in stores:
            secret, ids = seed(url, 2 * runs * args.slice)
            slices = [ids[i * args.slice : (i + 1) * args.slice] for i in range(2 * runs)]
            scripts = []
            for i, part in enumerate(slices):
                path = folder / f"{label}-{i}.lua"
                path.write_text(
                    (LUA + LUA_REPORT) % {"ids": lua_table(part), "key": lua_table([secret])[1:-1]}
                )
                scripts.append(path)
            serve = [str(BIN / "zeropools"), "serve", "--db", url, "--no-webhook-worker"]
            serve += ["--workers", str(args.workers)] if args.workers > 1 else []
            env = {
                **os.environ,
                "ZEROPOOLS_WEBHOOK_WORKER": "off",
                "ZEROPOOLS_RATE_LIMITS": "off",
                "ZEROPOOLS_ACCESS_LOG": "false",
                "ZEROPOOLS_KEY_PEPPER": PEPPER,
            }
            for round_ in range(args.rounds):
                for t, (name, src) in enumerate(trees):
                    n = round_ * len(trees) + t
                    tree_env = {**env, "PYTHONPATH": src} if src else env
                    warmup, script = scripts[2 * n], scripts[2 * n + 1]
                    figures = measure(serve, tree_env, script, args, log, warmup=warmup)
                    print(f"  {label}, {name}: {figures}", file=sys.stderr)
                    results.setdefault(f"{label} x{args.workers}, {name}", []).append(figures)

    print(
        f"settles over HTTP, {args.connections} connections, {args.duration} s runs, "
        f"median of {args.rounds} rounds"
    )
    print(f"{'':36} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8} {'CPU ms/req':>10}")
    for name, measured in results.items():
        m = median(measured)
        print(
            f"{name:36} {m.rate:7.0f} {m.p50_ms:8.1f} {m.p99_ms:8.1f} {m.refused:8d} "
            f"{m.cpu_ms:10.2f}"
        )


if __name__ == "__main__":
    main()

"""Quote + execute over HTTP: ``zeropools serve`` against a bare FastAPI echo, same run.

Method: wrk (``apt-get install wrk``) with 64 connections for DURATION seconds (after a short
warm-up) runs a Lua script that alternates ``POST /v1/quotes`` and ``POST /v1/trades``: every quote
answered puts its id on the wrk thread's list, and the next request executes it (with
``Idempotency-Key`` and ``partner_order_id`` set to the quote id); with no quote waiting it asks for
one. Scenarios: one hot partner, and 100 partners (quotes round-robin over their keys), on SQLite
and PostgreSQL (a throwaway database the bench creates and drops), 1 and 2 server processes each
(``--sqlite-workers``, ``--pg-workers``). The baseline is ``bench/echo_app.py``: FastAPI under
uvicorn, one worker, validating the same JSON with the same models, measured in the same run with
the same script. Every figure is the median of ROUNDS rounds; p50/p99 are wrk's, over both request
kinds. Non-201 answers and socket errors are counted and printed (an honest run shows 0).
"CPU ms/req" is the server's own CPU time (all its processes, from /proc) per request: on a
machine shared with other work, wall-clock rates drift with the neighbours' load, while this
cost does not (the column beside it compares it with the echo's).

Prints figures only; nothing asserts on time.

Usage: .venv/bin/python bench/http_execute.py [--duration 8] [--rounds 3] [--connections 64]
       [--pg URL] [--only sqlite|postgres] [--sqlite-workers 1,2] [--pg-workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from common import funded_partner

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.services.context import Deployment
from zeropools.store.open import open_store

BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
WARMUP_S = 2
STARTUP_S = 180.0  # a busy 2-core machine may take a minute to start a server
FUNDS = "100000000.00"  # EUR per partner: never the limit of a run
# One pepper for the bench's own set-up and every server it starts: without one, test mode
# keeps a pepper in ./var/ for PostgreSQL, and the servers (run in the run's folder) would make
# a second one and refuse the keys the set-up hashed (SQLite keeps it beside the file).
PEPPER = secrets.token_hex(32)


@dataclass(frozen=True)
class Figures:
    rate: float  # requests/s (quotes and trades together)
    p50_ms: float
    p99_ms: float
    quotes: int
    trades: int
    refused: int  # answers other than 201
    errors: int  # socket errors and timeouts
    cpu_ms: float = 0.0  # the server's CPU time (all its processes) per request


def funded_partners(url: str, count: int) -> dict[str, str]:
    """``count`` partners with EUR funds; partner id -> its partner_server secret."""
    store = open_store(url)
    try:
        initialize(store, "test")
        dep: Deployment = deployment(Settings(db_url=url, key_pepper=PEPPER), store)
        keys = {}
        for i in range(count):
            created = funded_partner(dep, f"p{i}", FUNDS)
            keys[created.partner.id] = next(
                k.secret for k in created.keys if k.key.role == "partner_server"
            )
        return keys
    finally:
        store.close()


LUA = r"""
local keys = %(keys)s
local key_of = %(key_of)s
local quote_body = '{"pool_id":"EUR-USDT","source_amount":"10.00"}'
local pending = {}
local turn = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  quotes, trades, refused, sample = 0, 0, 0, ""
end

local function headers(key)
  return {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
end

function request()
  local item = table.remove(pending)
  if item then
    local h = headers(keys[item[1]])
    h["Idempotency-Key"] = item[2]
    local body = '{"quote_id":"' .. item[2] .. '","partner_order_id":"' .. item[2] .. '"}'
    return wrk.format("POST", "/v1/trades", h, body)
  end
  turn = turn %% #keys + 1
  return wrk.format("POST", "/v1/quotes", headers(keys[turn]), quote_body)
end

function response(status, hdrs, body)
  if status == 201 then
    local quote_id = string.match(body, '"id":"(pq_[^"]+)"')
    if quote_id then
      local partner = string.match(body, '"partner_id":"([^"]+)"')
      table.insert(pending, {key_of[partner] or 1, quote_id})
      quotes = quotes + 1
    else
      trades = trades + 1
    end
  else
    refused = refused + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 300) end
  end
end

"""

# wrk's report: each thread's quotes, trades, refused and first refusal, summed; a
# %-template like LUA (bench/http_settle.py counts its settles as trades)
LUA_REPORT = r"""
function done(summary, latency, requests)
  local q, t, r, s = 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    q = q + thread:get("quotes")
    t = t + thread:get("trades")
    r = r + thread:get("refused")
    if s == "" then s = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT %%d %%d %%d %%d %%d %%d %%d %%d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), q, t, r,
    e.connect + e.read + e.write + e.timeout))
  if s ~= "" then io.write("SAMPLE " .. s .. "\n") end
end
"""


def lua_table(values: list[str] | dict[str, int]) -> str:
    if isinstance(values, list):
        return "{" + ",".join(json.dumps(v) for v in values) + "}"
    return "{" + ",".join(f"[{json.dumps(k)}]={v}" for k, v in values.items()) + "}"


def write_script(folder: Path, keys: dict[str, str]) -> Path:
    ordered = list(keys.items())
    script = (LUA + LUA_REPORT) % {
        "keys": lua_table([secret for _, secret in ordered]),
        "key_of": lua_table({partner: i + 1 for i, (partner, _) in enumerate(ordered)}),
    }
    path = folder / f"load-{uuid.uuid4().hex[:6]}.lua"
    path.write_text(script)
    return path


def wrk(base_url: str, script: Path, connections: int, duration: int) -> Figures:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s"]
    done = subprocess.run(
        [*command, "-s", str(script), base_url], capture_output=True, text=True, check=True
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    requests, duration_us, p50, p99, quotes, trades, refused, errors = map(int, line.split()[1:])
    for sample in (x for x in done.stdout.splitlines() if x.startswith("SAMPLE ")):
        print(f"    first refusal: {sample[7:]}", file=sys.stderr)
    return Figures(
        requests / (duration_us / 1e6), p50 / 1000, p99 / 1000, quotes, trades, refused, errors
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(
    command: list[str], port: int, log: Path, env: dict[str, str]
) -> Iterator[tuple[str, int]]:
    base_url = f"http://127.0.0.1:{port}"
    with log.open("ab") as sink:
        # in the run's folder: a test-mode server on PostgreSQL writes ./var/signing-key.pem
        process = subprocess.Popen(command, stdout=sink, stderr=sink, env=env, cwd=log.parent)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not serving after {STARTUP_S} s:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield base_url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants (a server and its workers): the
    cost per request, which a busy machine slows but does not inflate, unlike wall time."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pending.extend(int(child) for child in children)
    return total


def measure(
    command: list[str],
    env: dict[str, str],
    script: Path,
    args: argparse.Namespace,
    log: Path,
    warmup: Path | None = None,
) -> Figures:
    """One server started, warmed up (``warmup``: a script of its own, for loads that use up
    what they touch; else ``script``), then measured with ``script`` for ``args.duration``."""
    port = free_port()
    with serving([*command, "--port", str(port)], port, log, env) as (base_url, pid):
        wrk(base_url, warmup or script, args.connections, WARMUP_S)
        before = cpu_seconds(pid)
        figures = wrk(base_url, script, args.connections, args.duration)
        used = cpu_seconds(pid) - before
        requests = figures.quotes + figures.trades + figures.refused
        return replace(figures, cpu_ms=1000 * used / max(requests, 1))


def median(runs: list[Figures]) -> Figures:
    def mid(values: list[float]) -> float:
        return statistics.median(values)

    return Figures(
        mid([r.rate for r in runs]),
        mid([r.p50_ms for r in runs]),
        mid([r.p99_ms for r in runs]),
        sum(r.quotes for r in runs),
        sum(r.trades for r in runs),
        sum(r.refused for r in runs),
        sum(r.errors for r in runs),
        mid([r.cpu_ms for r in runs]),
    )


@contextmanager
def throwaway_pg(admin_url: str) -> Iterator[str]:
    name = f"zp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _counts(text: str) -> list[int]:
    """``--sqlite-workers 1,2``: the server process counts to try."""
    return [int(n) for n in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--partners", type=int, default=100)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument(
        "--before-src",
        help="also serve each store's first scenarios from this older src/ tree (PYTHONPATH), "
        "one worker, for a before/after in the same run",
    )
    parser.add_argument(
        "--pg-workers", default="1,2", help="server processes to try on PostgreSQL, e.g. 1,2"
    )
    parser.add_argument(
        "--sqlite-workers", default="1,2", help="server processes to try on SQLite, e.g. 1,2"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:  # drops the databases
        folder = Path(tmp)
        log = folder / "servers.log"
        # the hot path itself: one client address at thousands of requests a second is what
        # the rate limits exist to stop, and the echo writes no access log either
        env = {
            **os.environ,
            "ZEROPOOLS_WEBHOOK_WORKER": "off",
            "ZEROPOOLS_RATE_LIMITS": "off",
            "ZEROPOOLS_ACCESS_LOG": "false",
            "ZEROPOOLS_KEY_PEPPER": PEPPER,
        }
        echo = [str(BIN / "uvicorn"), "--factory", "echo_app:app", "--app-dir", str(BENCH)]
        echo += ["--no-access-log"]
        echo += ["--log-level", "warning"]
        before_env = {**env, "PYTHONPATH": args.before_src or ""}
        scenarios: list[tuple[str, list[str], Path, dict[str, str]]] = []
        stores = []
        if args.only in (None, "sqlite"):
            stores.append(("sqlite", f"sqlite:///{folder}/bench.db", _counts(args.sqlite_workers)))
        if args.only in (None, "postgres"):
            pg_url = stack.enter_context(throwaway_pg(args.pg))
            stores.append(("postgres", pg_url, _counts(args.pg_workers)))
        hot_keys: dict[str, str] = {}
        for label, url, worker_counts in stores:
            keys = funded_partners(url, 1 + args.partners)
            hot = dict([next(iter(keys.items()))])
            many = dict(list(keys.items())[1:])
            hot_keys = hot_keys or hot
            if args.before_src:
                serve = [str(BIN / "zeropools"), "serve", "--db", url, "--no-webhook-worker"]
                name = f"{label} BEFORE, 1 hot partner"  # the figure: its hot partner
                scenarios.append((name, serve, write_script(folder, hot), before_env))
            for workers in worker_counts:
                serve = [str(BIN / "zeropools"), "serve", "--db", url, "--no-webhook-worker"]
                serve += ["--workers", str(workers)] if workers > 1 else []
                name = f"{label} x{workers}"
                scenarios.append((f"{name}, 1 hot partner", serve, write_script(folder, hot), env))
                scenarios.append(
                    (f"{name}, {args.partners} partners", serve, write_script(folder, many), env)
                )
        echo_script = write_script(folder, hot_keys)

        results: dict[str, list[Figures]] = {"echo": []}
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}/{args.rounds}", file=sys.stderr)
            results["echo"].append(measure(echo, env, echo_script, args, log))
            for name, command, script, scenario_env in scenarios:
                try:
                    figures = measure(command, scenario_env, script, args, log)
                except (RuntimeError, subprocess.CalledProcessError) as failed:
                    print(f"  {name}: no figure this round ({failed})"[:300], file=sys.stderr)
                    continue
                print(f"  {name}: {figures}", file=sys.stderr)
                results.setdefault(name, []).append(figures)

        print(
            f"quote+execute over HTTP, {args.connections} connections, {args.duration} s runs, "
            f"median of {args.rounds} rounds ({os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d})"
        )
        echo_rate = median(results["echo"]).rate
        header = f"{'':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x echo':>7} {'non-201':>8}"
        print(header + f" {'CPU ms/req':>10} {'x echo':>7}")
        echo_cpu = median(results["echo"]).cpu_ms
        for name, runs in results.items():
            f = median(runs)
            print(
                f"{name:34} {f.rate:8.0f} {f.p50_ms:8.1f} {f.p99_ms:8.1f} "
                f"{f.rate / echo_rate:7.2f} {f.refused + f.errors:8d} {f.cpu_ms:10.2f} "
                f"{f.cpu_ms / echo_cpu:7.1f}"
            )


if __name__ == "__main__":
    main()

"""Which ASGI server: uvicorn (what ``zeropools serve`` runs) against granian, same run.

Method: the quote+execute load of ``http_execute.py`` (wrk, 64 connections, its Lua script,
one hot partner on SQLite) against four servers, one process each, in turn, ROUNDS rounds:
the bare FastAPI echo (``echo_app.py``) under uvicorn and under granian, and zeropools under
``zeropools serve`` (uvicorn, httptools, uvloop, the header-deadline protocol) and under
granian (``granian --interface asgi --factory zeropools.asgi:app``, uvloop). Figures are
medians; "CPU ms/req" is the server's own CPU per request (from /proc), the figure a busy
machine does not distort. The issue asks for "a measured choice of server": this is the
measurement; README ("Serving") records the choice.

Prints figures only; nothing asserts on time.

Usage: .venv/bin/python bench/servers.py [--rounds 3] [--duration 6] [--connections 64]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from http_execute import BENCH, BIN, Figures, funded_partners, measure, median, write_script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=6, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk (make bench-tools)")
    if not (BIN / "granian").exists():
        sys.exit("granian is needed: it is a dev dependency (make venv installs it)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder}/bench.db"
        script = write_script(folder, funded_partners(url, 1))
        env = {
            **os.environ,
            "ZEROPOOLS_DB": url,
            "ZEROPOOLS_WEBHOOK_WORKER": "off",
            "ZEROPOOLS_RATE_LIMITS": "off",  # one address at thousands of requests a second
            "ZEROPOOLS_ACCESS_LOG": "false",
        }
        granian = [str(BIN / "granian"), "--interface", "asgi", "--factory", "--workers", "1"]
        granian += ["--host", "127.0.0.1", "--loop", "uvloop", "--no-ws", "--log-level", "warning"]
        servers = {
            "echo, uvicorn": [
                *(str(BIN / "uvicorn"), "--factory", "echo_app:app", "--app-dir", str(BENCH)),
                *("--no-access-log", "--log-level", "warning"),
            ],
            "echo, granian": [*granian, "--working-dir", str(BENCH), "echo_app:app"],
            "zeropools serve (uvicorn)": [
                *(str(BIN / "zeropools"), "serve", "--db", url, "--no-webhook-worker"),
            ],
            "zeropools, granian": [*granian, "zeropools.asgi:app"],
        }
        runs: dict[str, list[Figures]] = {name: [] for name in servers}
        for round_ in range(1, args.rounds + 1):
            for name, command in servers.items():
                figures = measure(command, env, script, args, folder / "servers.log")
                runs[name].append(figures)
                print(f"  round {round_} {name}: {figures.rate:.0f} req/s", flush=True)
        print(f"one hot partner, SQLite, {args.connections} connections, median of {args.rounds}")
        print(f"  {'server':28} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>11} other")
        for name, found in runs.items():
            m = median(found)
            print(
                f"  {name:28} {m.rate:7.0f} {m.p50_ms:7.0f} {m.p99_ms:7.0f} {m.cpu_ms:11.3f} "
                f"{m.refused + m.errors}"
            )


if __name__ == "__main__":
    main()

"""``make bench``: every bench under bench/, one after another, each printing its figures.

Each bench runs in its own process (they seed their own databases, and a bench's peak RSS must
not include another's), its output passed through as it comes. At the end, one line per bench:
ok, failed (exit code), or missing. The HTTP benches of issue 13 (``http_execute.py``,
``hot_partner.py``) are listed even where they have not landed yet, and reported missing.
Figures go to bench/RESULTS.md by hand, with the machine and the date: nothing here asserts on
time.

``--quick`` runs the bulk benches at a tenth of their size (100k-entry export and verify,
10k-row match), for a look at the figures in minutes rather than the better part of an hour.
``--only NAME ...`` runs the named benches (file names without ``.py``).

Usage: .venv/bin/python bench/run_all.py [--quick] [--only export verify ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (bench, its arguments for a full run, for a quick run)
BENCHES: list[tuple[str, list[str], list[str]]] = [
    ("http_execute", [], []),  # issue 13 part A: quote+execute over HTTP against an echo
    # settles over HTTP (the operator's side of a trade), this tree alone
    ("http_settle", [], ["--rounds", "1", "--slice", "1500", "--duration", "3"]),
    ("hot_partner", [], []),  # issue 13 part A: service layer, one hot partner, durable
    ("servers", [], ["--rounds", "1"]),  # issue 13: uvicorn against granian, same load
    ("export", ["--n", "1000000", "--rounds", "3"], ["--n", "100000", "--rounds", "3"]),
    (
        "verify",
        ["--n", "1000000", "--rounds", "3"],
        ["--n", "100000", "--rounds", "3", "--executions", "2000"],
    ),
    ("match", ["--n", "100000", "--rounds", "3"], ["--n", "10000", "--rounds", "3"]),
    ("ledger", [], []),
    ("group_commit", [], []),
    ("outbox", [], []),
    ("import_statement", [], []),
    ("webhooks", [], []),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="NAME")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if args.only is None or b[0] in args.only]
    unknown = set(args.only or ()) - {name for name, _, _ in BENCHES}
    if unknown:
        parser.error(f"no bench named {', '.join(sorted(unknown))}")
    outcomes: list[str] = []
    for name, full, quick in chosen:
        script = HERE / f"{name}.py"
        if not script.exists():
            outcomes.append(f"{name:17} missing (bench/{name}.py is not on this branch)")
            continue
        argv = [sys.executable, str(script), *(quick if args.quick else full)]
        print(f"\n=== {name}: {' '.join(argv[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.run(argv, cwd=HERE.parent, check=False).returncode
        took = time.perf_counter() - started
        outcomes.append(
            f"{name:17} {'ok' if code == 0 else f'failed (exit {code})'} in {took:.0f} s"
        )
    print("\n=== summary")
    for line in outcomes:
        print(f"  {line}")
    if any("failed" in line for line in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()

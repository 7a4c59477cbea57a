"""Helper process for ``test_trading_concurrency``: execute a share of the quotes on one database.

Protocol on stdin/stdout, one JSON document per line, so the parent can start every process
before any of them executes:

1. the parent writes ``{"db_url", "partner_id", "quote_ids", "threads"}``;
2. the worker opens the store, and answers ``{"ready": true}``;
3. the parent writes ``go``; the worker executes every quote (``threads`` at a time, through
   ``services.trading.execute_trade`` as the partner's server key) and answers
   ``{"trade_ids": [...], "insufficient": n, "errors": [...]}``.

Run as a script (``python tests/trading/trading_worker.py``): only its own directory is then on
``sys.path``, so it adds ``tests/`` itself for the ``support`` package (free of pytest).
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Run as a script, only this directory is on sys.path; the shared helpers live in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import server_ctx
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.domain.errors import InsufficientBalance
from zeropools.services import trading
from zeropools.services.context import Deployment
from zeropools.store.open import open_store


def _execute(dep: Deployment, partner_id: str, quote_id: str) -> tuple[str, str]:
    try:
        view = trading.execute_trade(
            dep, server_ctx(partner_id), quote_id=quote_id, partner_order_id=f"order-{quote_id}"
        )
    except InsufficientBalance:
        return "insufficient", quote_id
    except Exception as exc:  # reported to the parent, which fails the test with it
        return "error", f"{type(exc).__name__}: {exc}"
    return "ok", view.trade.id


def main() -> int:
    job = json.loads(sys.stdin.readline())
    store = open_store(job["db_url"])
    try:
        dep = deployment(Settings(db_url=job["db_url"]), store)
        print(json.dumps({"ready": True}), flush=True)
        if sys.stdin.readline().strip() != "go":
            return 2
        with ThreadPoolExecutor(max_workers=job["threads"]) as pool:
            outcomes = list(
                pool.map(lambda q: _execute(dep, job["partner_id"], q), job["quote_ids"])
            )
    finally:
        store.close()
    print(
        json.dumps(
            {
                "trade_ids": [value for kind, value in outcomes if kind == "ok"],
                "insufficient": sum(1 for kind, _ in outcomes if kind == "insufficient"),
                "errors": [value for kind, value in outcomes if kind == "error"],
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The bare FastAPI echo ``bench/http_execute.py`` measures zeropools against.

It validates the same JSON bodies with the same pydantic models as the API (``QuoteCreate``,
``TradeCreate``) and answers what the load script needs (a quote id to execute), doing nothing
else: the ceiling of FastAPI + uvicorn on this machine. Run by the bench as
``uvicorn --factory echo_app:app`` (one worker, no access log).
"""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import FastAPI

from zeropools.api.schemas import QuoteCreate, TradeCreate


def app() -> FastAPI:
    echo = FastAPI()
    counter = itertools.count(1)

    @echo.post("/v1/quotes", status_code=201)
    async def quote(body: QuoteCreate) -> dict[str, Any]:
        return {"id": f"pq_test_echo{next(counter)}", "object": "quote", "pool_id": body.pool_id}

    @echo.post("/v1/trades", status_code=201)
    async def trade(body: TradeCreate) -> dict[str, Any]:
        return {"id": f"pt_test_echo{next(counter)}", "object": "trade", "quote_id": body.quote_id}

    @echo.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return echo

"""The API as an import string, for servers that start their own processes.

``zeropools serve --workers N`` hands uvicorn ``zeropools.asgi:app`` with ``factory=True``:
each worker process calls ``app()`` and wires its own deployment (store, group-commit writer,
key cache) from the environment (``ZEROPOOLS_*``, see ``config``), which ``serve`` sets from its
options before the workers start. Any ASGI server can do the same, e.g.
``uvicorn --factory zeropools.asgi:app --workers 4``.
"""

from __future__ import annotations

from fastapi import FastAPI

from zeropools import bootstrap, config
from zeropools.api.app import create_app
from zeropools.api.server import guarded_http_protocol, tune_gc
from zeropools.workers import webhooks


def app() -> FastAPI:
    settings = config.from_env()
    # the protocol class came by name from the supervisor; its deadline is this process's
    guarded_http_protocol(settings.header_timeout_s)
    dep = bootstrap.deployment(settings)
    background = [webhooks.Worker(dep)] if settings.webhook_worker else []
    app = create_app(
        dep, background, rate_limits=settings.rate_limits, body_timeout_s=settings.body_timeout_s
    )
    tune_gc()
    return app

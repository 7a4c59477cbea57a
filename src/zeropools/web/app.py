"""Mount the dashboard on the API's app: its routes and its static files (from the package)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from zeropools.web import routes_auth, routes_operator, routes_partner
from zeropools.web.sessions import PATH


def install(app: FastAPI) -> None:
    for module in (routes_auth, routes_partner, routes_operator):
        app.include_router(module.router)
    app.mount(
        f"{PATH}/static",
        StaticFiles(packages=[("zeropools.web", "static")]),
        name="dashboard-static",
    )

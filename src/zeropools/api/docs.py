"""API reference pages that work offline: Swagger UI at ``/docs``, ReDoc at ``/redoc``.

FastAPI's defaults load both from a CDN, so on a machine without internet (a bank's network, a
train) ``/docs`` is a blank page. The JavaScript and CSS come from the ``fastapi-offline``
package instead and are served from ``/static/docs``; nothing on these pages refers to another
host (ReDoc's one built-in link to its maker's logo is pointed at our icon).

``swagger-ui-bundle`` was the first choice, but it ships Swagger UI 4, which refuses to render
the OpenAPI 3.1 document FastAPI writes ("Unable to render this definition"); ``fastapi-offline``
ships Swagger UI 5 and ReDoc 2, and is used here only for those files.

``/`` redirects to ``/docs`` (later: to the dashboard).
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC_URL = "/static/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def assets_directory() -> Path:
    """Where the installed ``fastapi_offline`` keeps its copies of Swagger UI and ReDoc."""
    directory = Path(str(files("fastapi_offline") / "static"))
    missing = [name for name in ASSETS if not (directory / name).is_file()]
    assert not missing, f"fastapi-offline without {missing}: reinstall it"
    return directory


def install(app: FastAPI) -> None:
    """Mount the assets and the pages; the app must be created with ``docs_url=None`` and
    ``redoc_url=None`` so FastAPI's CDN pages are not registered first."""
    assert app.docs_url is None and app.redoc_url is None
    openapi_url = app.openapi_url or "/openapi.json"
    directory = assets_directory()

    @functools.cache
    def redoc_js() -> bytes:
        # ReDoc shows its maker's logo from their CDN (hidden when it fails to load); point it
        # at our own icon so that not even the logo leaves this host
        script = (directory / "redoc.standalone.js").read_bytes()
        return script.replace(REDOC_LOGO.encode(), f"{STATIC_URL}/favicon.png".encode())

    # registered before the mount, so it answers for this one file
    @app.get(f"{STATIC_URL}/redoc.standalone.js", include_in_schema=False)
    def redoc_script() -> Response:
        return Response(redoc_js(), media_type="text/javascript")

    app.mount(STATIC_URL, StaticFiles(directory=directory), name="docs-assets")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/docs", status_code=307)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API reference",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_URL}/favicon.png",
            # the validator badge would call validator.swagger.io with the whole document
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API reference",
            redoc_js_url=f"{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )

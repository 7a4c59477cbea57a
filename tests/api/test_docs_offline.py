"""The API reference works offline: Swagger UI at /docs, ReDoc at /redoc, / leads there.

Goal: ``/docs`` and ``/redoc`` refer only to assets served by this service (shipped in a
package, no CDN), each of those assets is served, ``/`` redirects to the docs, and both pages
actually render the operations in a browser that may not reach any other host.
Method: the TestClient for the HTML and the assets (every ``src``/``href`` must be a local path
that answers 200); a headless Chromium (Debian's, through playwright) against the app served by
uvicorn, with every request to another origin aborted and recorded. Without ``/usr/bin/chromium``
the browser test fails with how to install it (``apt-get install chromium``; ``.ci/run`` does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support import live_server, opened_store, sqlite_url
from zeropools.bootstrap import deployment
from zeropools.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
RENDER_TIMEOUT_MS = 20_000
ASSET_REF = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: ?'([^']+)'""")


def _references(html: str) -> list[str]:
    return [a or b for a, b in ASSET_REF.findall(html)]


def test_the_root_redirects_to_the_docs(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)

    assert response.status_code == 307
    assert response.headers["location"] == "/docs"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_refer_only_to_local_assets_and_each_is_served(
    client: TestClient, page: str
) -> None:
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")

    references = _references(html.text)

    assert "/openapi.json" in references
    assert any(ref.endswith(".js") for ref in references), references
    for ref in references:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        assert client.get(ref).status_code == 200, ref
    assert "http://" not in html.text and "https://" not in html.text


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    url = sqlite_url(tmp_path)
    with opened_store(url) as store, live_server(deployment(Settings(db_url=url), store)) as base:
        yield base


def test_the_docs_render_in_a_browser_that_reaches_no_other_host(served: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"no {CHROMIUM}: apt-get install chromium (.ci/run does)", pytrace=False)
    from playwright.sync_api import Route, sync_playwright

    elsewhere: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(served):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", only_local)

            page.goto(f"{served}/")  # the redirect to /docs
            page.wait_for_selector(".opblock", timeout=RENDER_TIMEOUT_MS)
            swagger_operations = page.locator(".opblock").count()
            page.goto(f"{served}/redoc")
            page.get_by_text("/v1/adjustments").first.wait_for(timeout=RENDER_TIMEOUT_MS)
            redoc_text = page.inner_text("body")
        finally:
            browser.close()

    assert elsewhere == []
    assert swagger_operations >= 25
    assert "Unable to render" not in redoc_text and "/v1/adjustments" in redoc_text

"""The dashboard in a real browser: each journey of issue 12, accessibility and isolation.

Goal: a partner admin signs in and sees its balance, funding instructions and chart, downloads
an export, acknowledges a returned trade and closes the day; an operator attributes a pay-in
from the review queue and sees the partner's balance change; a partner admin cannot open
another partner's pages or the operator's; a form without its CSRF token changes nothing; no
main page has a serious or critical axe-core violation, on a laptop or a phone.
Method: ``create_app`` served by uvicorn on a free port (SQLite), data built through the
services at explicit past times (a day that has ended can be closed), headless Chromium
through playwright with every request to another host aborted, axe-core injected from its
package. Screenshots of each main page go to ``var/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import SCREENSHOTS, axe_script

from support import ctx_for, issue_operator_key, live_server, onboard, opened_store, send_payin
from support import sqlite_url as sqlite_url_of
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.services import partners, periods, signing, trading
from zeropools.services.context import Deployment

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000


@dataclass
class World:
    base: str
    dep: Deployment
    acme: str  # the partner whose day is built
    other: str  # a second partner (attribution target, isolation)
    acme_admin: str
    acme_server: str
    other_admin: str
    operator: str
    day: str  # an ended day with a returned trade to acknowledge
    returned_trade: str
    review_payin: str


def _build(dep: Deployment) -> dict[str, str]:
    op = ctx_for("operator")
    acme = onboard(dep, name="Acme Wallet")
    other = onboard(dep, name="Other Pay")
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=2)
    minute = iter(range(1, 600))

    def at() -> datetime:
        return start + timedelta(hours=8, minutes=next(minute))

    pc = acme.partner.currency("EUR")
    assert pc is not None
    send_payin(dep, "bank-acme-1", "1000.00", reference=pc.funding_reference, ctx=ctx_for(now=at()))
    server = ctx_for("partner_server", acme.partner.id, at())
    offer = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="100.00", partner_order_id=None
    )
    trade = trading.execute_trade(dep, server, quote_id=offer.quote.id, partner_order_id="order-1")
    trade_id = trade.trade.id
    trading.move_trade(dep, ctx_for(now=at()), trade_id, "settled")
    trading.move_trade(dep, ctx_for(now=at()), trade_id, "returned", reason="wallet closed")
    review = send_payin(
        dep, "bank-review-1", "250.00", reference=None, remittance_info="thanks, no reference"
    )
    assert review.payin.status == "needs_review"
    issue = partners.issue_api_key
    return {
        "acme": acme.partner.id,
        "other": other.partner.id,
        "acme_admin": issue(dep, op, acme.partner.id, "partner_admin").secret,
        "acme_server": issue(dep, op, acme.partner.id, "partner_server").secret,
        "other_admin": issue(dep, op, other.partner.id, "partner_admin").secret,
        "operator": issue_operator_key(dep).secret,
        "day": start.date().isoformat(),
        "returned_trade": trade_id,
        "review_payin": review.payin.id,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("dashboard")
    key_file = folder / "signing.pem"
    signing.generate_key_file(key_file)
    url = sqlite_url_of(folder)
    with opened_store(url) as store:
        dep = deployment(Settings(db_url=url, signing_key_file=str(key_file)), store)
        built = _build(dep)
        with live_server(dep) as base:
            yield World(base=base, dep=dep, **built)


@pytest.fixture
def new_page(browser: Any, world: World) -> Iterator[Any]:
    """A fresh browser context (no cookies) whose requests may reach only the server."""
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    elsewhere: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(world.base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()
    assert elsewhere == [], elsewhere


def sign_in(page: Any, world: World, key: str) -> None:
    page.goto(f"{world.base}/dashboard")
    page.get_by_label("API key (partner admin or operator)").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def serious_violations(page: Any) -> list[str]:
    page.evaluate(axe_script())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_partner_admin_signs_in_and_sees_balance_funding_and_chart(
    new_page: Any, world: World
) -> None:
    sign_in(new_page, world, world.acme_admin)

    assert new_page.url == f"{world.base}/dashboard/partners/{world.acme}"
    assert new_page.get_by_test_id("available-EUR").inner_text() == "1000.00"
    reference = new_page.get_by_test_id("reference-EUR").inner_text()
    assert reference.startswith("RF") and all(len(g) <= 4 for g in reference.split(" "))
    assert new_page.locator("svg[role=img] polyline").count() == 1
    assert new_page.locator("svg[role=img] line.marker.credit").count() == 1
    assert new_page.locator("svg[role=img] line.marker.trade").count() == 2  # debit, return
    cookie = next(c for c in new_page.context.cookies() if c["name"] == "zp_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_a_partner_server_key_cannot_sign_in(new_page: Any, world: World) -> None:
    sign_in(new_page, world, world.acme_server)

    assert "/sign-in" in new_page.url
    assert "partner server key cannot sign in" in new_page.get_by_role("alert").inner_text()
    assert not [c for c in new_page.context.cookies() if c["name"] == "zp_session"]


def test_the_days_export_downloads_with_its_verification_status(
    new_page: Any, world: World
) -> None:
    sign_in(new_page, world, world.acme_admin)
    new_page.goto(f"{world.base}/dashboard/partners/{world.acme}/finance?date={world.day}")
    assert "Verification" in new_page.get_by_test_id("verification").inner_text()

    with new_page.expect_download() as caught:
        new_page.get_by_role("link", name="CSV").click()
    download = caught.value
    text = Path(download.path()).read_text()

    assert download.suggested_filename.endswith(".csv")
    assert world.returned_trade in text
    assert "buy_return" in text


def test_the_operator_attributes_a_payin_and_the_partners_balance_changes(
    new_page: Any, world: World
) -> None:
    sign_in(new_page, world, world.operator)
    cell = new_page.get_by_test_id(f"available-{world.other}-EUR")
    assert cell.inner_text() == "0.00"

    new_page.get_by_role("link", name="Pay-in review").click()
    card = new_page.get_by_role("article").filter(has_text=world.review_payin)
    card.get_by_label("Credit to").select_option(world.other)
    card.get_by_role("button", name="Attribute").click()

    assert f"{world.review_payin} credited" in new_page.get_by_role("status").inner_text()
    new_page.get_by_role("link", name="Partners").click()
    assert cell.inner_text() == "250.00"


def test_a_partner_admin_acknowledges_the_return_and_closes_the_day(
    new_page: Any, world: World
) -> None:
    sign_in(new_page, world, world.acme_admin)
    base = f"{world.base}/dashboard/partners/{world.acme}"
    new_page.goto(f"{base}/reconciliation?date={world.day}")
    row = new_page.get_by_role("row").filter(has_text=world.returned_trade)
    row.get_by_label("Note").fill("refund booked to the customer")
    row.get_by_role("button", name="Acknowledge").click()
    assert "acknowledged" in new_page.get_by_role("status").inner_text()

    new_page.goto(f"{base}/finance?date={world.day}")
    new_page.get_by_role("button", name=f"Close {world.day}").click()

    assert f"{world.day} is closed" in new_page.get_by_role("status").inner_text()
    assert "closed" in new_page.get_by_role("heading", name=world.day).inner_text()
    closed = periods.get_period(world.dep, ctx_for(), world.day, None, world.acme)
    assert closed.status == "closed"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/dashboard/partners/{other}", 404),
        ("/dashboard/partners/{other}/ledger", 404),
        ("/dashboard/operator", 403),
        ("/dashboard/operator/payins", 403),
    ],
)
def test_a_partner_admin_cannot_open_another_partners_pages_or_the_operators(
    new_page: Any, world: World, path: str, status: int
) -> None:
    sign_in(new_page, world, world.acme_admin)

    response = new_page.goto(world.base + path.format(other=world.other))

    assert response.status == status
    assert "Other Pay" not in new_page.content()


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    new_page: Any, world: World
) -> None:
    untouched = (datetime.now(UTC) - timedelta(days=5)).date().isoformat()
    sign_in(new_page, world, world.acme_admin)
    new_page.goto(f"{world.base}/dashboard/partners/{world.acme}/finance?date={untouched}")
    new_page.evaluate(
        "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())"
    )

    with new_page.expect_navigation() as navigation:
        new_page.get_by_role("button", name=f"Close {untouched}").click()

    assert navigation.value.status == 403
    assert "Nothing was changed" in new_page.get_by_role("alert").inner_text()
    still = periods.get_period(world.dep, ctx_for(), untouched, None, world.acme)
    assert still.status == "open"


def test_a_form_with_another_sessions_csrf_token_is_refused(new_page: Any, world: World) -> None:
    sign_in(new_page, world, world.acme_admin)
    new_page.goto(f"{world.base}/dashboard/partners/{world.acme}/finance")
    forged = secrets.token_hex(32)
    new_page.evaluate(
        "t => document.querySelectorAll('input[name=csrf_token]').forEach(e => e.value = t)", forged
    )
    with new_page.expect_navigation() as navigation:
        new_page.get_by_role("button", name="Sign out").click()

    assert navigation.value.status == 403
    new_page.goto(f"{world.base}/dashboard/partners/{world.acme}")
    assert new_page.url.endswith(f"/dashboard/partners/{world.acme}")  # still signed in


def test_sign_out_ends_the_session(new_page: Any, world: World) -> None:
    sign_in(new_page, world, world.acme_admin)
    new_page.get_by_role("button", name="Sign out").click()
    assert "/sign-in" in new_page.url

    new_page.goto(f"{world.base}/dashboard/partners/{world.acme}/ledger")

    assert "/sign-in" in new_page.url


PARTNER_PAGES = [
    "",
    "/ledger",
    "/trades",
    "/trades/{trade}",
    "/changes",
    "/finance?date={day}",
    "/reconciliation?date={day}",
    "/webhooks",
]
OPERATOR_PAGES = ["", "/payins", "/trades", "/adjustments", "/verify"]


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_every_main_page_has_no_serious_accessibility_violation(
    new_page: Any, world: World, viewport: str
) -> None:
    new_page.set_viewport_size(LAPTOP if viewport == "laptop" else PHONE)
    found: dict[str, list[str]] = {}
    new_page.goto(f"{world.base}/dashboard/sign-in")
    found["sign-in"] = serious_violations(new_page)
    shoot(new_page, f"sign-in-{viewport}")
    sign_in(new_page, world, world.acme_admin)
    for suffix in PARTNER_PAGES:
        path = suffix.format(trade=world.returned_trade, day=world.day)
        response = new_page.goto(f"{world.base}/dashboard/partners/{world.acme}{path}")
        assert response.status == 200, path
        name = "partner" + (
            suffix.split("?")[0].replace("/", "-").replace("{trade}", "one") or "-overview"
        )
        found[name] = serious_violations(new_page)
        shoot(new_page, f"{name}-{viewport}")
    new_page.context.clear_cookies()
    sign_in(new_page, world, world.operator)
    for suffix in OPERATOR_PAGES:
        response = new_page.goto(f"{world.base}/dashboard/operator{suffix}")
        assert response.status == 200, suffix
        name = "operator" + (suffix.replace("/", "-") or "-partners")
        found[name] = serious_violations(new_page)
        shoot(new_page, f"{name}-{viewport}")

    assert {page: v for page, v in found.items() if v} == {}

"""Dashboard pages over HTTP, on SQLite and PostgreSQL: what each page and form does.

Goal: every page renders the services' answers (a low-balance banner, ledger pages of 100 rows
with a cursor, the operator's venue, adjustment, statement and verify forms, webhook
redelivery), a refusal comes back as a readable HTML message with the API's status (never a 500
or a JSON problem), and a form without its CSRF token writes nothing.
Method: the app through Starlette's TestClient (cookies kept), signed in through the sign-in
form; data built through the services; outcomes read back through the services.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support import ctx_for, fund, issue_operator_key, onboard, send_payin
from zeropools.api.app import create_app
from zeropools.domain.events import PAYIN_CREDITED
from zeropools.domain.ledger import EntryFilter
from zeropools.domain.paging import Page
from zeropools.services import events, ledger, partners, trading, webhook_endpoints
from zeropools.services.context import Deployment

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "camt053-sample.xml"


def sign_in(client: TestClient, key: str) -> None:
    response = client.post("/dashboard/sign-in", data={"api_key": key}, follow_redirects=False)
    assert response.status_code == 303, response.text


def csrf_of(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


def admin_of(dep: Deployment, partner_id: str) -> str:
    return partners.issue_api_key(dep, ctx_for("operator"), partner_id, "partner_admin").secret


def entries(dep: Deployment, partner_id: str) -> list[str]:
    found = ledger.list_entries(dep, ctx_for(), partner_id, EntryFilter(), Page.of(1000))
    return [e.type for e in found]


def test_a_page_without_a_session_sends_the_browser_to_sign_in(client: TestClient) -> None:
    response = client.get("/dashboard/partners/partner_x/ledger", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_session_cookie_is_httponly_strict_and_secure_over_tls(
    dep: Deployment, scheme: str
) -> None:
    new = onboard(dep)
    with TestClient(create_app(dep), base_url=f"{scheme}://testserver") as client:
        response = client.post(
            "/dashboard/sign-in",
            data={"api_key": admin_of(dep, new.partner.id)},
            follow_redirects=False,
        )
    cookie = response.headers["set-cookie"].lower()

    assert cookie.startswith("zp_session=") and "httponly" in cookie
    assert "samesite=strict" in cookie and "path=/dashboard" in cookie
    assert ("secure" in cookie.split("; ")) == (scheme == "https")


def test_a_wrong_key_is_a_readable_401_page(client: TestClient) -> None:
    response = client.post("/dashboard/sign-in", data={"api_key": "zpk_test_nope"})

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "Unknown or revoked API key" in response.text


def test_the_low_balance_banner_shows_below_the_threshold(
    client: TestClient, dep: Deployment
) -> None:
    new = partners.create_partner(
        dep,
        ctx_for(),
        name="Low Co",
        balance_model="debit",
        currencies=["EUR"],
        low_balance_threshold={"EUR": "100.00"},
    )
    fund(dep, new.partner.id, "60.00")
    sign_in(client, admin_of(dep, new.partner.id))

    page = client.get(f"/dashboard/partners/{new.partner.id}")

    assert "Low balance:" in page.text and "60.00 EUR available" in page.text


def test_a_bad_filter_is_a_readable_422_page_not_a_500(client: TestClient, dep: Deployment) -> None:
    new = onboard(dep)
    sign_in(client, admin_of(dep, new.partner.id))
    base = f"/dashboard/partners/{new.partner.id}"

    bad_type = client.get(f"{base}/ledger", params={"type": "bogus"})
    bad_day = client.get(f"{base}/ledger", params={"date_from": "yesterday"})

    assert bad_type.status_code == 422 and "not an entry type" in bad_type.text
    assert bad_day.status_code == 422 and "YYYY-MM-DD" in bad_day.text
    assert bad_type.headers["content-type"].startswith("text/html")


def test_the_ledger_pages_100_rows_with_the_balance_after_each(
    client: TestClient, dep: Deployment
) -> None:
    new = onboard(dep)
    for _ in range(101):
        fund(dep, new.partner.id, "1.00")
    sign_in(client, admin_of(dep, new.partner.id))
    base = f"/dashboard/partners/{new.partner.id}/ledger"

    first = client.get(base)
    cursor = re.search(r'after=(ple_\w+)"', first.text)
    assert cursor, "no next-page link"
    second = client.get(base, params={"after": cursor.group(1)})

    assert first.text.count("<td>payin credit</td>") == 100
    assert ">100.00<" in first.text  # the balance after the 100th entry
    assert second.text.count("<td>payin credit</td>") == 1 and ">101.00<" in second.text
    assert "Next page" not in second.text


def test_the_operator_settles_and_fails_trades_awaiting_the_venue(
    client: TestClient, dep: Deployment
) -> None:
    new = onboard(dep)
    fund(dep, new.partner.id, "500.00")
    server = ctx_for("partner_server", new.partner.id)
    made = []
    for amount in ("100.00", "50.00"):
        offer = trading.create_quote(
            dep, server, pool_id="EUR-USDT", source_amount=amount, partner_order_id=None
        )
        done = trading.execute_trade(
            dep, server, quote_id=offer.quote.id, partner_order_id=f"order-{amount}"
        )
        made.append(done.trade.id)
    sign_in(client, issue_operator_key(dep).secret)
    token = csrf_of(client, "/dashboard/operator/trades")

    client.post(f"/dashboard/operator/trades/{made[0]}/settle", data={"csrf_token": token})
    failed = client.post(
        f"/dashboard/operator/trades/{made[1]}/fail",
        data={"csrf_token": token, "reason": "venue rejected"},
    )

    assert "failed." in failed.text
    statuses = [trading.get_trade(dep, ctx_for(), t).trade.status for t in made]
    assert statuses == ["settled", "failed"]
    assert made[0] not in failed.text.split("Trades awaiting")[1]


def test_an_adjustment_posts_with_its_reason_and_a_refused_one_says_why(
    client: TestClient, dep: Deployment
) -> None:
    new = onboard(dep)
    sign_in(client, issue_operator_key(dep).secret)
    token = csrf_of(client, "/dashboard/operator/adjustments")
    form = {"csrf_token": token, "partner_id": new.partner.id, "currency": "EUR"}

    done = client.post(
        "/dashboard/operator/adjustments", data={**form, "amount": "12.50", "reason": "goodwill"}
    )
    refused = client.post(
        "/dashboard/operator/adjustments", data={**form, "amount": "-99.00", "reason": "too much"}
    )

    assert "Adjusted" in done.text
    assert refused.status_code == 200 and "insufficient_balance" in refused.text
    assert entries(dep, new.partner.id) == ["adjustment"]


def test_a_form_without_its_csrf_token_writes_nothing(client: TestClient, dep: Deployment) -> None:
    new = onboard(dep)
    sign_in(client, issue_operator_key(dep).secret)

    response = client.post(
        "/dashboard/operator/adjustments",
        data={"partner_id": new.partner.id, "currency": "EUR", "amount": "5.00", "reason": "x"},
    )

    assert response.status_code == 403 and "Nothing was changed" in response.text
    assert entries(dep, new.partner.id) == []


def test_a_statement_upload_shows_its_import_summary(client: TestClient, dep: Deployment) -> None:
    sign_in(client, issue_operator_key(dep).secret)
    token = csrf_of(client, "/dashboard/operator/payins")

    response = client.post(
        "/dashboard/operator/payins/import",
        data={"csrf_token": token},
        files={"statement": ("camt053-sample.xml", SAMPLE.read_bytes(), "application/xml")},
    )

    assert response.status_code == 200
    assert "camt053-sample.xml" in response.text and "to review" in response.text


def test_the_operator_runs_verify_from_the_dashboard(client: TestClient, dep: Deployment) -> None:
    fund(dep, onboard(dep).partner.id, "10.00")
    sign_in(client, issue_operator_key(dep).secret)
    token = csrf_of(client, "/dashboard/operator/verify")

    response = client.post("/dashboard/operator/verify", data={"csrf_token": token})

    assert "OK: 1 partners" in response.text


def test_a_partner_admin_redelivers_an_event_from_the_delivery_log(
    client: TestClient, dep: Deployment
) -> None:
    new = onboard(dep)
    admin = ctx_for("partner_admin", new.partner.id)
    endpoint = webhook_endpoints.create_endpoint(dep, admin, url="http://127.0.0.1:9/hook")
    send_payin(dep, "bank-hook-1", "10.00", reference=new.partner.currencies[0].funding_reference)
    found = events.list_events(
        dep, admin, partner_id=None, after_sequence=0, types=[PAYIN_CREDITED], page=Page.of(10)
    )
    sign_in(client, admin_of(dep, new.partner.id))
    base = f"/dashboard/partners/{new.partner.id}/webhooks"
    token = csrf_of(client, base)

    response = client.post(
        f"{base}/redeliver",
        data={"csrf_token": token, "event_id": found[0].id, "endpoint_id": endpoint.endpoint.id},
    )

    assert f"{found[0].id} queued for redelivery" in response.text
    assert endpoint.endpoint.id in response.text


@pytest.mark.parametrize(
    "path", ["", "/ledger", "/trades", "/changes", "/finance", "/reconciliation", "/webhooks"]
)
def test_another_partners_pages_are_a_404_for_a_partner_admin(
    client: TestClient, dep: Deployment, path: str
) -> None:
    mine, theirs = onboard(dep, name="Mine"), onboard(dep, name="Theirs")
    sign_in(client, admin_of(dep, mine.partner.id))

    response = client.get(f"/dashboard/partners/{theirs.partner.id}{path}")

    assert response.status_code == 404
    assert "Theirs" not in response.text


def test_an_order_file_upload_shows_the_match_table(client: TestClient, dep: Deployment) -> None:
    new = onboard(dep)
    fund(dep, new.partner.id, "500.00")
    server = ctx_for("partner_server", new.partner.id)
    offer = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="100.00", partner_order_id=None
    )
    trade = trading.execute_trade(dep, server, quote_id=offer.quote.id, partner_order_id="ORD-1")
    sign_in(client, admin_of(dep, new.partner.id))
    base = f"/dashboard/partners/{new.partner.id}/reconciliation"
    token = csrf_of(client, base)
    books = (
        "partner_order_id,amount,currency,created_at,trade_id,quote_id,status\n"
        f"ORD-1,100.00,EUR,{trade.trade.created_at.isoformat()},{trade.trade.id},,debited\n"
        "ORD-404,5.00,EUR,2026-01-01T00:00:00Z,,,settled\n"
    )

    response = client.post(
        f"{base}/match",
        data={"csrf_token": token},
        files={"orders": ("orders.csv", books.encode(), "text/csv")},
    )

    assert response.status_code == 200, response.text
    summary = re.search(r'data-testid="match-summary">([^<]+)<', response.text)
    assert summary and "2 rows read: 1 matched" in summary.group(1)
    assert "missing in ledger" in response.text and trade.trade.id in response.text


def test_the_balance_changes_page_explains_the_window(client: TestClient, dep: Deployment) -> None:
    new = onboard(dep)
    fund(dep, new.partner.id, "70.00")
    fund(dep, new.partner.id, "30.00")
    sign_in(client, admin_of(dep, new.partner.id))

    page = client.get(f"/dashboard/partners/{new.partner.id}/changes")

    assert page.status_code == 200
    assert "<dd>+100.00</dd>" in page.text
    assert "<dd><strong>100.00 EUR</strong></dd>" in page.text
    assert "payin credit (2)" in page.text

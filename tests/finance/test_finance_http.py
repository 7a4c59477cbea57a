"""One HTTP test per finance route: export, period close and read, signing keys.

Goal: the routes speak API.md's shapes (CSV header, ``X-Content-SHA256``, period object,
signing key list, 409 codes). Method: a partner made through the services with a past day of
activity on the domain clock, then requests with its partner_admin key over a TestClient.
"""

from __future__ import annotations

import hashlib

from finance_support import acknowledge, brief_day, new_day

from support import app_client, assert_problem, bearer, issue_operator_key
from zeropools.client import verify_export
from zeropools.domain.exports import CSV_HEADER
from zeropools.domain.partners import PARTNER_ADMIN
from zeropools.services import partners
from zeropools.services.context import Deployment


def admin_headers(dep: Deployment, partner_id: str) -> dict[str, str]:
    from support import ctx_for

    issued = partners.issue_api_key(dep, ctx_for(), partner_id, PARTNER_ADMIN)
    return bearer(issued.secret)


def test_the_export_route_streams_the_csv_with_its_sha256_header(fdep: Deployment) -> None:
    day = new_day(fdep)
    brief_day(day)
    with app_client(fdep) as client:
        headers = admin_headers(fdep, day.partner_id)
        response = client.get(f"/v1/exports/ledger?date={day.date}&currency=EUR", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["x-content-sha256"] == hashlib.sha256(response.content).hexdigest()
        assert response.text.splitlines()[0] == ",".join(CSV_HEADER)
        jsonl = client.get(f"/v1/exports/ledger?date={day.date}&format=jsonl", headers=headers)
        assert jsonl.status_code == 200 and jsonl.text.startswith('{"at":')
        bad = client.get("/v1/exports/ledger?date=2026-13-01", headers=headers)
        assert_problem(bad, 422, "validation_error")


def test_the_close_route_refuses_open_items_then_closes_and_get_reads_it(fdep: Deployment) -> None:
    day = new_day(fdep)
    trades = brief_day(day)
    with app_client(fdep) as client:
        headers = admin_headers(fdep, day.partner_id)
        assert client.get(f"/v1/periods/{day.date}", headers=headers).json()["status"] == "open"
        refused = client.post(f"/v1/periods/{day.date}/close", json={}, headers=headers)
        body = assert_problem(refused, 409, "period_has_open_items")
        assert {item["id"] for item in body["items"]} == {trades["failed"], trades["returned"]}
        acknowledge(fdep, day.partner_id, trades["failed"])
        acknowledge(fdep, day.partner_id, trades["returned"])
        closed = client.post(f"/v1/periods/{day.date}/close", json={"tz": "UTC"}, headers=headers)
        assert closed.status_code == 200, closed.text
        period = closed.json()
        assert (period["object"], period["status"], period["tz"]) == ("period", "closed", "UTC")
        assert period["closing"]["EUR"] == {"available": "1000.00", "reserved": "0.00"}
        export = client.get(f"/v1/exports/ledger?date={day.date}", headers=headers)
        assert export.headers["x-content-sha256"] == period["exports"]["EUR"]["sha256"]
        keys = client.get("/v1/signing-keys", headers=headers).json()["data"]
        current = [key for key in keys if key["retired_at"] is None]
        assert len(current) == 1 and current[0]["algorithm"] == "Ed25519"
        assert verify_export(export.content, current[0]["public_key"]).signed
        assert client.get(f"/v1/periods/{day.date}", headers=headers).json() == period
        today = client.post(
            "/v1/periods/2999-01-01/close", json={}, headers=bearer(issue_operator_key(fdep).secret)
        )
        assert_problem(today, 422, "validation_error")  # operators must name the partner


def test_the_signing_keys_route_lists_a_rotated_key_as_retired(
    fdep: Deployment, tmp_path: object, db_url: str
) -> None:
    from pathlib import Path

    from zeropools.bootstrap import deployment
    from zeropools.config import Settings
    from zeropools.services import signing

    new_file = Path(str(tmp_path)) / "rotated.pem"
    signing.generate_key_file(new_file)
    rotated = deployment(Settings(db_url=db_url, signing_key_file=str(new_file)), fdep.store)
    with app_client(rotated) as client:
        response = client.get(
            "/v1/signing-keys", headers=bearer(issue_operator_key(rotated).secret)
        )
        assert response.status_code == 200
        keys = response.json()["data"]
        assert len(keys) == 2 and all(key["object"] == "signing_key" for key in keys)
        assert sum(key["retired_at"] is None for key in keys) == 1
        assert [key["id"] for key in keys if key["retired_at"] is None] == [
            signing.load_key_file(new_file).id
        ]


def test_a_day_not_yet_ended_is_refused_over_http(fdep: Deployment) -> None:
    day = new_day(fdep, days_ago=0)
    with app_client(fdep) as client:
        from datetime import UTC, datetime

        today = datetime.now(UTC).date().isoformat()
        refused = client.post(
            f"/v1/periods/{today}/close", json={}, headers=admin_headers(fdep, day.partner_id)
        )
        assert_problem(refused, 409, "period_not_ended")

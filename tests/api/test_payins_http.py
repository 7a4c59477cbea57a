"""Pay-ins over HTTP: bank credit notifications credit once, and only with exact money.

Goal: ``POST /v1/payins`` is idempotent on ``bank_transaction_id`` (201 new, 200 known, never a
second credit; pending then booked credits once; other money is ``payin_conflict``), accepts
amounts only as decimal strings with at most the currency's decimals, parks unattributable money
as ``needs_review``, and is operator-only. ``GET /v1/payins`` and ``GET /v1/payins/{id}`` keep
partners to their own pay-ins.

Method: TestClient over ``create_app(dep)`` on SQLite and PostgreSQL; balances are read back over
HTTP with the partner's own key to prove what was (not) credited.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support import Http, HttpPartner, assert_problem, assert_request_id, error_fields

CONCURRENT_POSTS = 8


def test_a_booked_payin_with_the_exact_reference_credits_once_even_when_resent(
    client: TestClient, http: Http, make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner()

    first = credit(partner.eur, "1000.00", bank_transaction_id="bank-1")

    assert first.status_code == 201, first.text
    payin = first.json()
    assert payin["id"].startswith("pin_")
    assert payin["object"] == "payin"
    assert payin["status"] == "credited"
    assert payin["booking_status"] == "booked"
    assert payin["partner_id"] == partner.id
    assert payin["amount"] == "1000.00"
    assert payin["currency"] == "EUR"
    assert payin["ledger_entry_id"].startswith("ple_")
    assert payin["funding_reference"] == partner.eur
    assert payin["request_id"] == assert_request_id(first)
    assert http.available(partner) == "1000.00"

    resent = credit(partner.eur, "1000.00", bank_transaction_id="bank-1")

    assert resent.status_code == 200, resent.text
    assert resent.json() == payin
    assert http.available(partner) == "1000.00"

    conflict = credit(partner.eur, "999.00", bank_transaction_id="bank-1")
    body = assert_problem(conflict, 409, "payin_conflict")
    assert body.get("differences") == ["amount"]
    assert http.available(partner) == "1000.00"


def test_a_pending_payin_waits_and_credits_once_when_booked(
    client: TestClient, http: Http, make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner()

    pending = credit(partner.eur, "250.00", "EUR", "pending", bank_transaction_id="b-7")
    assert pending.status_code == 201, pending.text
    assert pending.json()["status"] == "pending_confirmation"
    assert pending.json()["ledger_entry_id"] is None
    assert http.available(partner) == "0.00"
    again = credit(partner.eur, "250.00", "EUR", "pending", bank_transaction_id="b-7")
    assert again.status_code == 200
    assert again.json()["status"] == "pending_confirmation"

    booked = credit(partner.eur, "250.00", "EUR", "booked", bank_transaction_id="b-7")
    assert booked.status_code == 200, booked.text
    assert booked.json()["id"] == pending.json()["id"]
    assert booked.json()["status"] == "credited"
    assert http.available(partner) == "250.00"

    for status in ("booked", "pending"):
        resent = credit(partner.eur, "250.00", "EUR", status, bank_transaction_id="b-7")
        assert resent.status_code == 200
        assert resent.json()["status"] == "credited"
    assert http.available(partner) == "250.00"
    entries = client.get("/v1/ledger-entries", headers=partner.admin).json()["data"]
    assert [e["type"] for e in entries] == ["payin_credit"]


def test_payin_amounts_are_decimal_strings_with_at_most_the_currency_scale(
    client: TestClient, http: Http, operator: dict[str, str], make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner()
    for amount, expected in (("100", "100.00"), ("100.5", "100.50"), ("100.50", "100.50")):
        accepted = credit(partner.eur, amount)
        assert accepted.status_code == 201, (amount, accepted.text)
        assert accepted.json()["amount"] == expected
    assert http.available(partner) == "301.00"

    refused: list[tuple[Any, str]] = [
        (100, "amount_invalid"),
        (100.5, "amount_invalid"),
        ("1e2", "amount_invalid"),
        ("NaN", "amount_invalid"),
        ("-5", "amount_invalid"),
        ("12,50", "amount_invalid"),
        (" 100", "amount_invalid"),
        ("", "amount_invalid"),
        (None, "amount_invalid"),
        ("100.505", "amount_precision_exceeded"),
        ("100.500", "amount_precision_exceeded"),
    ]
    for amount, code in refused:
        response = credit(partner.eur, amount)
        assert_problem(response, 422, code)
    assert http.available(partner) == "301.00"

    unknown_currency = credit(partner.eur, "10.00", "XYZ")
    assert_problem(unknown_currency, 422, "currency_not_enabled")
    bad_booking = credit(partner.eur, "10.00", booking_status="maybe")
    assert "booking_status" in error_fields(assert_problem(bad_booking, 422, "validation_error"))
    missing = client.post(
        "/v1/payins",
        json={"amount": "1.00", "currency": "EUR", "booking_status": "booked"},
        headers=operator,
    )
    assert "bank_transaction_id" in error_fields(assert_problem(missing, 422, "validation_error"))


def test_recording_a_payin_for_another_partner_is_refused_to_partner_keys(
    client: TestClient, http: Http, make_partner: Any
) -> None:
    # API.md: POST /v1/payins is an operator route. (A partner_admin may simulate a top-up of
    # its own on a test deployment; it may never move money into another partner's balance.)
    mine: HttpPartner = make_partner(name="Mine")
    other: HttpPartner = make_partner(name="Other")

    def payload(reference: str) -> dict[str, str]:
        return {
            "bank_transaction_id": "bank-x",
            "amount": "10.00",
            "currency": "EUR",
            "booking_status": "booked",
            "reference": reference,
        }

    for headers in (mine.admin, mine.server):
        response = client.post("/v1/payins", json=payload(other.eur), headers=headers)
        assert_problem(response, 403, "forbidden")
    own_by_server = client.post("/v1/payins", json=payload(mine.eur), headers=mine.server)
    assert_problem(own_by_server, 403, "forbidden")
    assert_problem(client.post("/v1/payins", json=payload(mine.eur)), 401, "unauthenticated")
    assert http.available(other) == "0.00"
    assert http.available(mine) == "0.00"


@pytest.mark.parametrize(
    "reference",
    [
        pytest.param("RF18539007547034", id="unknown-reference"),
        pytest.param(None, id="no-reference"),
        pytest.param("RF00ZP234", id="check-digits-fail"),
    ],
)
def test_a_payin_without_a_known_reference_waits_for_review(
    client: TestClient,
    http: Http,
    operator: dict[str, str],
    make_partner: Any,
    credit: Any,
    reference: str | None,
) -> None:
    partner: HttpPartner = make_partner()

    response = credit(reference, "75.00")

    assert response.status_code == 201, response.text
    payin = response.json()
    assert payin["status"] == "needs_review"
    assert payin["partner_id"] is None
    assert payin["ledger_entry_id"] is None
    assert payin["review_reason"], "an operator is told why"
    assert http.available(partner) == "0.00"
    review = client.get("/v1/payins?status=needs_review", headers=operator).json()
    assert [p["id"] for p in review["data"]] == [payin["id"]]


def test_a_resend_with_the_real_reference_attributes_a_parked_payin_and_announces_it(
    client: TestClient, http: Http, make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner()
    parked = credit("RF..", "60.00", bank_transaction_id="bank-fix")
    assert parked.json()["status"] == "needs_review"

    fixed = credit(partner.eur, "60.00", bank_transaction_id="bank-fix")

    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert (body["id"], body["status"], body["partner_id"]) == (
        parked.json()["id"],
        "credited",
        partner.id,
    )
    assert http.available(partner) == "60.00"
    events = client.get("/v1/events", headers=partner.admin).json()["data"]
    credited = [e for e in events if e["data"]["object"].get("id") == body["id"]]
    assert [e["type"] for e in credited] == ["payin.credited"]

    other: HttpPartner = make_partner(name="Other")
    moved = credit(other.eur, "60.00", bank_transaction_id="bank-fix")
    assert assert_problem(moved, 409, "payin_conflict").get("differences") == ["reference"]
    assert (http.available(partner), http.available(other)) == ("60.00", "0.00")


def test_listing_payins_filters_by_status_and_keeps_partners_to_their_own(
    client: TestClient, operator: dict[str, str], make_partner: Any, credit: Any
) -> None:
    mine: HttpPartner = make_partner(name="Mine")
    other: HttpPartner = make_partner(name="Other")
    mine_credited = credit(mine.eur, "10.00").json()["id"]
    mine_pending = credit(mine.eur, "20.00", booking_status="pending").json()["id"]
    other_credited = credit(other.eur, "30.00").json()["id"]
    unattributed = credit("RF18539007547034", "40.00").json()["id"]
    newest_first = [unattributed, other_credited, mine_pending, mine_credited]

    everything = client.get("/v1/payins", headers=operator)
    assert everything.status_code == 200
    body = everything.json()
    assert body["object"] == "list" and body["has_more"] is False
    assert [p["id"] for p in body["data"]] == newest_first

    page = client.get("/v1/payins?limit=3", headers=operator).json()
    assert [p["id"] for p in page["data"]] == newest_first[:3] and page["has_more"] is True
    rest = client.get(
        f"/v1/payins?limit=3&starting_after={newest_first[2]}", headers=operator
    ).json()
    assert [p["id"] for p in rest["data"]] == newest_first[3:] and rest["has_more"] is False

    review = client.get("/v1/payins?status=needs_review", headers=operator).json()
    assert [p["id"] for p in review["data"]] == [unattributed]
    credited = client.get("/v1/payins?status=credited", headers=operator).json()
    assert [p["id"] for p in credited["data"]] == [other_credited, mine_credited]
    scoped = client.get(f"/v1/payins?partner_id={other.id}", headers=operator).json()
    assert [p["id"] for p in scoped["data"]] == [other_credited]

    bad = client.get("/v1/payins?status=lost", headers=operator)
    assert "status" in error_fields(assert_problem(bad, 422, "validation_error"))

    own = client.get("/v1/payins", headers=mine.admin).json()
    assert [p["id"] for p in own["data"]] == [mine_pending, mine_credited]
    foreign = client.get(f"/v1/payins?partner_id={other.id}", headers=mine.admin)
    assert_problem(foreign, 404, "not_found")
    assert_problem(client.get("/v1/payins", headers=mine.server), 403, "forbidden")


def test_reading_a_payin_hides_other_partners_payins(
    client: TestClient, operator: dict[str, str], make_partner: Any, credit: Any
) -> None:
    mine: HttpPartner = make_partner(name="Mine")
    other: HttpPartner = make_partner(name="Other")
    my_payin = credit(mine.eur, "10.00").json()
    other_payin = credit(other.eur, "30.00").json()
    unattributed = credit(None, "40.00").json()

    own = client.get(f"/v1/payins/{my_payin['id']}", headers=mine.admin)
    assert own.status_code == 200
    assert own.json() == my_payin
    by_operator = client.get(f"/v1/payins/{other_payin['id']}", headers=operator)
    assert by_operator.status_code == 200
    assert by_operator.json() == other_payin

    for payin_id in (other_payin["id"], unattributed["id"], "pin_00000000000000000000000000"):
        response = client.get(f"/v1/payins/{payin_id}", headers=mine.admin)
        assert_problem(response, 404, "not_found")
    by_server = client.get(f"/v1/payins/{my_payin['id']}", headers=mine.server)
    assert_problem(by_server, 403, "forbidden")


def test_the_same_bank_credit_posted_concurrently_credits_once(
    client: TestClient, http: Http, make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner()
    barrier = threading.Barrier(CONCURRENT_POSTS)

    def post(_: int) -> tuple[int, str]:
        barrier.wait()
        response = credit(partner.eur, "100.00", bank_transaction_id="bank-race")
        return response.status_code, response.json().get("id", response.text)

    with ThreadPoolExecutor(CONCURRENT_POSTS) as pool:
        outcomes = list(pool.map(post, range(CONCURRENT_POSTS)))

    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200] * (CONCURRENT_POSTS - 1) + [201], outcomes
    assert len({payin_id for _, payin_id in outcomes}) == 1, outcomes
    assert http.available(partner) == "100.00"
    entries = client.get("/v1/ledger-entries", headers=partner.admin).json()["data"]
    assert [e["sequence"] for e in entries] == [1]


def test_different_bank_credits_posted_concurrently_each_credit_with_gap_free_sequences(
    client: TestClient, http: Http, make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner()
    barrier = threading.Barrier(CONCURRENT_POSTS)

    def post(n: int) -> int:
        barrier.wait()
        return int(credit(partner.eur, "10.00", bank_transaction_id=f"par-{n}").status_code)

    with ThreadPoolExecutor(CONCURRENT_POSTS) as pool:
        statuses = list(pool.map(post, range(CONCURRENT_POSTS)))

    assert statuses == [201] * CONCURRENT_POSTS
    assert http.available(partner) == f"{10 * CONCURRENT_POSTS}.00"
    entries = client.get("/v1/ledger-entries", headers=partner.admin).json()["data"]
    assert [e["sequence"] for e in entries] == list(range(1, CONCURRENT_POSTS + 1))
    assert [e["available_after"] for e in entries] == [
        f"{10 * n}.00" for n in range(1, CONCURRENT_POSTS + 1)
    ]


def test_a_payin_value_date_must_be_a_calendar_date(
    client: TestClient, http: Http, make_partner: Any, credit: Any
) -> None:
    partner: HttpPartner = make_partner()
    accepted = credit(partner.eur, "10.00", value_date="2026-02-28")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["value_date"] == "2026-02-28"

    for bad in ("2026-13-45", "2026-02-30", "26-02-01"):
        refused = credit(partner.eur, "10.00", value_date=bad)
        assert "value_date" in error_fields(assert_problem(refused, 422, "validation_error")), bad
    assert http.available(partner) == "10.00"


def test_text_with_a_nul_character_is_refused_the_same_way_on_both_stores(
    client: TestClient, operator: dict[str, str], credit: Any
) -> None:
    # PostgreSQL text cannot hold NUL; SQLite can. The API must answer 422 on both, never 500.
    partner = client.post(
        "/v1/partners",
        json={"name": "Acme\u0000Wallet", "balance_model": "debit", "currencies": ["EUR"]},
        headers=operator,
    )
    assert_problem(partner, 422, "validation_error")
    payin = credit(None, "10.00", bank_transaction_id="bank\u0000nul")
    assert_problem(payin, 422, "validation_error")
    debtor = credit(None, "10.00", bank_transaction_id="bank-nul-2", debtor_name="A\u0000B")
    assert_problem(debtor, 422, "validation_error")
    assert client.get("/v1/payins", headers=operator).json()["data"] == []
    # ids in paths and queries: no such object, exactly as for any other unknown id
    for path in ("/v1/partners/partner_%00", "/v1/payins/pin_%00", "/v1/ledger-entries/ple_%00"):
        assert_problem(client.get(path, headers=operator), 404, "not_found")
    scoped = client.get("/v1/balances?partner_id=partner_%00", headers=operator)
    assert_problem(scoped, 404, "not_found")

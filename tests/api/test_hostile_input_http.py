"""Hostile input is refused with a problem document, never a 500, and nothing is written.

Goal: bodies the JSON parser chokes on (10,000 levels deep, bytes that are not UTF-8, a
5,000-digit integer) are 400 ``malformed_json`` as API.md says, not a generic ``http_error``; a
lone UTF-16 surrogate in any string of a JSON body is 400 ``malformed_json`` (it used to reach
the database and the logs and end as a 500); a statement declaring an encoding the XML parser
cannot read (utf-7, shift_jis) is 422; and a balance is never taken past its named ceiling
(``BALANCE_MINOR_MAX``): the posting is refused with 422 ``amount_out_of_range`` before any write.
Method: the app over a real database (both stores), raw bodies through the TestClient.
"""

from __future__ import annotations

import pytest

from support import (
    app_client,
    assert_problem,
    balance_minor,
    bearer,
    issue_operator_key,
    onboard,
    reference_of,
)
from zeropools.domain import limits
from zeropools.services.context import Deployment

JSON = {"content-type": "application/json"}
PARSER_CHOKES = {
    "nested 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
    "not UTF-8": b'{"pool_id": "\xff\xfe", "source_amount": "1.00"}',
    "a 5,000-digit integer": b'{"pool_id": "EUR-USDT", "source_amount": ' + b"9" * 5000 + b"}",
}
LONE_SURROGATES = {
    "in an amount": b'{"pool_id": "EUR-USDT", "source_amount": "1\\ud800"}',
    "in a key": b'{"pool_id": "EUR-USDT", "source_amount": "1.00", "\\udfff": 1}',
    "low half alone": b'{"pool_id": "EUR-USDT\\udc00", "source_amount": "1.00"}',
}


def _server(dep: Deployment) -> dict[str, str]:
    new = onboard(dep)
    return bearer(next(k.secret for k in new.keys if k.key.role == "partner_server"))


@pytest.mark.parametrize("body", PARSER_CHOKES.values(), ids=PARSER_CHOKES.keys())
def test_a_body_the_parser_chokes_on_is_malformed_json(dep: Deployment, body: bytes) -> None:
    with app_client(dep) as client:
        answer = client.post("/v1/quotes", content=body, headers={**_server(dep), **JSON})

    assert_problem(answer, 400, "malformed_json")


@pytest.mark.parametrize("body", LONE_SURROGATES.values(), ids=LONE_SURROGATES.keys())
def test_a_lone_surrogate_anywhere_in_the_body_is_malformed_json(
    dep: Deployment, body: bytes
) -> None:
    with app_client(dep) as client:
        answer = client.post("/v1/quotes", content=body, headers={**_server(dep), **JSON})

    assert_problem(answer, 400, "malformed_json")


def test_a_paired_surrogate_escape_is_an_ordinary_character(dep: Deployment) -> None:
    body = (
        b'{"pool_id": "EUR-USDT", "source_amount": "10.00", "partner_order_id": "\\ud83d\\ude00"}'
    )
    with app_client(dep) as client:
        answer = client.post("/v1/quotes", content=body, headers={**_server(dep), **JSON})

    assert answer.status_code == 201, answer.text
    assert answer.json()["partner_order_id"] == "\N{GRINNING FACE}"


def test_a_surrogate_in_a_pay_in_writes_nothing(dep: Deployment) -> None:
    operator = bearer(issue_operator_key(dep).secret)
    body = (
        b'{"bank_transaction_id": "bank-s", "amount": "1\\ud800", "currency": "EUR", '
        b'"booking_status": "booked"}'
    )
    with app_client(dep) as client:
        answer = client.post("/v1/payins", content=body, headers={**operator, **JSON})
        listed = client.get("/v1/payins", headers=operator)

    assert_problem(answer, 400, "malformed_json")
    assert listed.json()["data"] == []


@pytest.mark.parametrize("encoding", ["utf-7", "shift_jis"])
def test_a_statement_in_an_unreadable_encoding_is_refused_not_a_500(
    dep: Deployment, encoding: str
) -> None:
    operator = bearer(issue_operator_key(dep).secret)
    xml = f'<?xml version="1.0" encoding="{encoding}"?><Document></Document>'.encode()
    with app_client(dep) as client:
        answer = client.post("/v1/payins/import", content=xml, headers=operator)

    problem = assert_problem(answer, 422, "validation_error")
    assert "encoding" in problem["detail"]


def test_a_credit_past_the_balance_ceiling_is_refused_and_writes_nothing(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    operator = bearer(issue_operator_key(dep).secret)
    largest = "10000000000000.00"  # AMOUNT_MINOR_MAX in EUR
    credits_to_ceiling = limits.BALANCE_MINOR_MAX // limits.AMOUNT_MINOR_MAX
    with app_client(dep) as client:
        for i in range(credits_to_ceiling):
            accepted = client.post(
                "/v1/payins",
                json={
                    "bank_transaction_id": f"big-{i}",
                    "amount": largest,
                    "currency": "EUR",
                    "booking_status": "booked",
                    "reference": reference_of(new),
                },
                headers=operator,
            )
            assert accepted.status_code == 201, accepted.text
        refused = client.post(
            "/v1/payins",
            json={
                "bank_transaction_id": "big-over",
                "amount": "0.01",
                "currency": "EUR",
                "booking_status": "booked",
                "reference": reference_of(new),
            },
            headers=operator,
        )
        known = client.get("/v1/payins?limit=100", headers=operator).json()["data"]

    assert_problem(refused, 422, "amount_out_of_range")
    assert balance_minor(dep, new.partner.id) == (limits.BALANCE_MINOR_MAX, 0)
    assert "big-over" not in {p["bank_transaction_id"] for p in known}

"""Error wording: each refusal says what was expected, each ``/errors/{code}`` page helps.

Goal: a ``null`` or a JSON number where an amount belongs is answered with what to send
(``a decimal string such as "100.00"``), never a Python type name; the ``/errors/{code}`` page
of every code says what happened, why, what to do next and shows an example, and the
``amount_invalid`` page no longer claims signs are never allowed (adjustments take "-12.00").
Method: the app over SQLite and PostgreSQL through the TestClient, with real keys.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from support import assert_problem
from zeropools.api import error_pages
from zeropools.domain import errors as domain_errors
from zeropools.representations.problems import STATUS


@pytest.mark.parametrize(
    ("sent", "named"), [(None, "null"), (100.5, "JSON number"), (True, "JSON boolean true")]
)
def test_an_amount_that_is_not_a_string_says_what_to_send_instead(
    client: TestClient, make_partner: Any, sent: object, named: str
) -> None:
    partner = make_partner()

    response = client.post(
        "/v1/quotes",
        json={"pool_id": "EUR-USDT", "source_amount": sent},
        headers=partner.server,
    )

    problem = assert_problem(response, 422, "amount_invalid")
    assert 'a decimal string such as "100.00"' in problem["detail"], problem
    assert named in problem["detail"], problem
    assert "NoneType" not in problem["detail"], problem


def test_a_signed_amount_field_shows_a_signed_example(
    client: TestClient, operator: dict[str, str], make_partner: Any
) -> None:
    partner = make_partner()
    body = {"partner_id": partner.id, "currency": "EUR", "amount": None, "reason": "fee"}

    response = client.post(
        "/v1/adjustments", json=body, headers={**operator, "Idempotency-Key": "a"}
    )

    problem = assert_problem(response, 422, "amount_invalid")
    assert '"-12.00"' in problem["detail"], problem


def test_the_amount_invalid_page_says_where_signs_are_allowed(client: TestClient) -> None:
    page = client.get("/errors/amount_invalid")

    assert page.status_code == 200
    assert "-12.00" in page.text
    assert "no JSON numbers, exponents, signs" not in page.text


def test_every_error_page_says_what_why_what_next_with_an_example(client: TestClient) -> None:
    codes = {cls.code for cls in domain_errors.all_error_classes()} | {"overloaded"}

    for code in sorted(codes):
        page = client.get(f"/errors/{code}")
        assert page.status_code == 200, code
        for heading in ("What happened", "Why", "What to do", "Example"):
            assert f"<h2>{heading}</h2>" in page.text, (code, heading)
        assert "<pre>" in page.text and "<pre></pre>" not in page.text, code


def test_each_page_names_the_status_its_code_is_answered_with() -> None:
    for cls, status in STATUS.items():
        assert error_pages.PAGES[cls.code].status == status, cls.code


def test_a_body_that_is_not_utf8_is_malformed_json(
    client: TestClient, operator: dict[str, str]
) -> None:
    response = client.post(
        "/v1/adjustments",
        content=b'{"amount": "\xff\xfe"}',
        headers={**operator, "Idempotency-Key": "k", "Content-Type": "application/json"},
    )

    assert_problem(response, 400, "malformed_json")

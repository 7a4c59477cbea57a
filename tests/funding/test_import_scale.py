"""Thousands of credits in one statement: every one counted, every cent where it belongs.

Goal: ``POST /v1/payins/import`` takes a camt.053 with 10,000 credit entries in one request
(the importer commits in chunks of ``limits.IMPORT_CHUNK_CREDITS``) and the result is exact:
the summary counts each credit once, each partner's balance equals the sum of its attributable
credits, the suspense account equals the review queue, pending credits wait, and ``verify``
replays everything without a mismatch. Importing the file again is all duplicates.

Method: a camt.053 written with ``tests/unit/bankfiles/generate.py``, on SQLite (the embedded
default; the PostgreSQL figure is in ``bench/import_statement.py``). Expected figures are
computed from the list of entries, in integers of cents, independently of the importer. No
assertion on time: ``slow`` is a label, never a reason to skip. Size: 10,000 credits under
``ZEROPOOLS_SOAK=1``; quick runs import 2,150 (about two minutes less on two shared cores), which
still spans several full chunks and a partial last one, so the chunk boundaries, the
duplicates and every sum are exercised the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import (
    Http,
    app_client,
    bearer,
    generate,
    issue_operator_key,
    opened_store,
    sized,
    spaced_lower,
    sqlite_url,
    suspense_minor,
    typo,
)
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.domain import limits
from zeropools.services.context import Deployment
from zeropools.services.verify import verify

CREDITS = sized(2_150, 10_000)  # a multiple of 50: every kind below comes in whole cycles
assert CREDITS % 50 == 0 and CREDITS > 2 * limits.IMPORT_CHUNK_CREDITS, "several chunks"
Entry, Detail = generate.Entry, generate.Detail


@pytest.fixture
def sqlite_dep(tmp_path: Path) -> Iterator[Deployment]:
    url = sqlite_url(tmp_path, "scale.db")
    with opened_store(url) as store:
        yield deployment(Settings(db_url=url), store)


@pytest.fixture
def scale_http(sqlite_dep: Deployment) -> Iterator[Http]:
    key = issue_operator_key(sqlite_dep)
    with app_client(sqlite_dep) as client:
        yield Http(client, bearer(key.secret))


def _amount_minor(index: int) -> int:
    return (index % 997 + 1) * 100 + index % 100  # 1.00 .. 997.99, varied cents


def _text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@pytest.mark.slow
@pytest.mark.soak
def test_thousands_of_credits_in_one_statement_are_each_counted_once_and_land_exactly(
    scale_http: Http, sqlite_dep: Deployment
) -> None:
    http = scale_http
    owners = [http.partner(name=f"Partner {n}") for n in range(3)]
    expected_minor = [0, 0, 0]
    review_minor = pending = 0
    entries = []
    for index in range(CREDITS):
        minor = _amount_minor(index)
        owner = index % 3
        reference = owners[owner].eur
        detail: dict[str, object] = {"end_to_end_id": f"E2E-{index:05d}"}
        status = "BOOK"
        if index % 50 == 0:  # no reference: review
            review_minor += minor
        elif index % 50 == 1:  # mistyped check digits: review
            detail["reference"] = typo(reference)
            review_minor += minor
        elif index % 50 == 2:  # not booked yet: waits
            detail["reference"] = reference
            status = "PDNG"
            pending += 1
        elif index % 2:  # structured reference
            detail["reference"] = reference
            expected_minor[owner] += minor
        else:  # the reference typed into the free text
            detail["unstructured"] = (f"top-up {index}", *spaced_lower(reference).split("\n"))
            expected_minor[owner] += minor
        entries.append(Entry(amount=_text(minor), status=status, details=(Detail(**detail),)))
    data = generate.camt053(entries)
    review = CREDITS // 50 * 2

    first = http.import_file(data)

    assert first.status_code == 200, first.text
    body = first.json()
    assert {k: body[k] for k in ("entries", "credits", "credited", "needs_review")} == {
        "entries": CREDITS,
        "credits": CREDITS,
        "credited": CREDITS - review - pending,
        "needs_review": review,
    }
    assert (body["pending_confirmation"], body["duplicates"], body["ignored_debits"]) == (
        pending,
        0,
        0,
    )
    assert [http.available(owner, by="operator") for owner in owners] == [
        _text(m) for m in expected_minor
    ]
    assert suspense_minor(sqlite_dep, "EUR") == review_minor
    report = verify(sqlite_dep.store)
    assert report.ok, report.problems[:5]
    assert report.entries == CREDITS - review - pending

    again = http.import_file(data).json()

    assert (again["duplicates"], again["credited"], again["needs_review"]) == (CREDITS, 0, 0)
    assert [http.available(owner, by="operator") for owner in owners] == [
        _text(m) for m in expected_minor
    ]

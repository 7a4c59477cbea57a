"""Bank statement import: camt.053/054 and MT940 files in, pay-ins credited exactly once.

Goal: the issue's "Done when" for ``POST /v1/payins/import`` and ``zeropools import-statement``.
Only credits become pay-ins; booked ones credit when their reference is certain, the rest wait
in the review queue with a reason; pending ones wait. The same file imported twice changes
nothing (the second summary is all duplicates). Amounts are taken exactly as written ("8.850"
EUR is 8.85; a real extra decimal goes to review, never rounded). Anything that is not a
statement, is too large or is hostile XML is refused with nothing written.

Method: statements are either real sample files from ``/work/shared/fixtures/bank`` (SOURCES.md)
copied and edited so a remittance field carries a partner's RF reference, or camt.053 files
written with ``tests/unit/bankfiles/generate.py`` for a mix no sample has. Each is posted over
HTTP (TestClient over ``create_app(dep)``, SQLite and PostgreSQL) twice; after each import the
summary counts, the balances, the review queue with its reasons, the suspense account and
``verify`` are checked. The CLI runs as a subprocess of the venv's ``zeropools`` on SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from support import (
    Http,
    HttpPartner,
    assert_problem,
    ctx_for,
    fixture_bytes,
    generate,
    onboard,
    reference_of,
    spaced_lower,
    suspense,
    suspense_minor,
    typo,
)
from zeropools.bankfiles import parse_statement
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.domain import limits, references
from zeropools.domain.errors import PayloadTooLarge
from zeropools.services import imports
from zeropools.services.context import Deployment
from zeropools.services.verify import verify
from zeropools.store.open import open_store

Entry, Detail = generate.Entry, generate.Detail
SUMMARY_FIELDS = (
    "format",
    "entries",
    "credits",
    "credited",
    "needs_review",
    "pending_confirmation",
    "duplicates",
    "ignored_debits",
)


def _imported(http: Http, data: bytes) -> dict[str, Any]:
    response = http.import_file(data)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["object"] == "payin_import"
    return body


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    return {name: body[name] for name in SUMMARY_FIELDS}


def _all_duplicates(first: dict[str, Any]) -> dict[str, Any]:
    """What importing the same file again must answer: every credit already known."""
    return {
        **first,
        "credited": 0,
        "needs_review": 0,
        "pending_confirmation": 0,
        "duplicates": first["credits"],
    }


def _state(http: Http, partners: list[HttpPartner], dep: Deployment) -> dict[str, Any]:
    """Everything an import may change: pay-ins, balances, entries, suspense."""
    return {
        "payins": sorted((p["id"], p["status"], p["updated_at"]) for p in http.payins()),
        "balances": [http.available(p, by="operator") for p in partners],
        "entries": [[e["id"] for e in http.entries(p, by="operator")] for p in partners],
        "suspense": suspense(dep),
    }


def _review_reasons(http: Http) -> dict[str, str]:
    return {
        f"{p['amount']} {p['currency']}": p["review_reason"] for p in http.payins("needs_review")
    }


def _replace_once(data: bytes, old: str, new: str) -> bytes:
    assert data.count(old.encode()) == 1, old
    return data.replace(old.encode(), new.encode())


# -- the "Done when" scenario: a mixed camt.053, imported twice ----------------------------------


def _mixed_camt053(a: str, b: str) -> tuple[bytes, Entry]:
    """Credits of every kind, debits and a reversal; returns the file and its pending entry."""

    def credit(amount: str, e2e: str, currency: str = "EUR", **detail: Any) -> Entry:
        return Entry(
            amount=amount,
            currency=currency,
            details=(Detail(end_to_end_id=e2e, currency=currency, debtor_name="Payer", **detail),),
        )

    pending = Entry(
        amount="500.00",
        status="PDNG",
        details=(Detail(end_to_end_id="E2E-PENDING", reference=a),),
    )
    entries = [
        credit("250.00", "E2E-1", reference=a),  # structured
        credit("100.50", "E2E-2", unstructured=("Top-up", *spaced_lower(b).split("\n"))),
        credit("75.00", "E2E-3", reference=typo(a)),
        credit("60.00", "E2E-4", currency="USD", reference=a),  # A has EUR only
        credit("40.00", "E2E-5", unstructured=(f"{a} {b}",)),  # two partners
        credit("30.00", "E2E-6"),  # no reference
        credit("20.00", "E2E-7", unstructured=(references.new_creditor_reference(),)),
        pending,
        Entry(amount="15.00", credit=False, details=(Detail(end_to_end_id="E2E-DEBIT"),)),
        Entry(amount="12.00", reversal=True, details=(Detail(end_to_end_id="E2E-RVSL"),)),
        Entry(  # a batch of two transfers, split into two credits
            amount="15.00",
            servicer_ref="BATCH-1",
            details=(
                Detail(amount="10.00", end_to_end_id="E2E-B1", reference=a),
                Detail(amount="5.00", end_to_end_id="E2E-B2", unstructured=(b.lower(),)),
            ),
        ),
    ]
    return generate.camt053(entries), pending


def test_a_mixed_camt053_imported_twice_credits_exactly_once_and_queues_the_rest(
    http: Http, dep: Deployment
) -> None:
    a, b = http.partner(name="A"), http.partner(name="B")
    data, pending = _mixed_camt053(a.eur, b.eur)

    first = _imported(http, data)

    assert _summary(first) == {
        "format": "camt.053",
        "entries": 11,
        "credits": 10,
        "credited": 4,
        "needs_review": 5,
        "pending_confirmation": 1,
        "duplicates": 0,
        "ignored_debits": 2,
    }
    assert first["conflicts"] == 0
    assert (http.available(a, by="operator"), http.available(b, by="operator")) == (
        "260.00",
        "105.50",
    )
    assert _review_reasons(http) == {
        "75.00 EUR": "structured reference check digits fail",
        "60.00 USD": "reference is for EUR, pay-in is USD",
        "40.00 EUR": "references of more than one partner",
        "30.00 EUR": "no payment reference",
        "20.00 EUR": "unknown reference",
    }
    assert suspense_minor(dep, "EUR") == 165_00
    assert suspense_minor(dep, "USD") == 60_00
    (waiting,) = http.payins("pending_confirmation")
    assert (waiting["amount"], waiting["partner_id"]) == ("500.00", a.id)
    methods = {(p["amount"], p["attribution"]["method"]) for p in http.payins("credited")}
    assert methods == {
        ("250.00", "structured_reference"),
        ("100.50", "remittance_reference"),
        ("10.00", "structured_reference"),
        ("5.00", "remittance_reference"),
    }
    assert all(p["attribution"]["by"] == "system" for p in http.payins("credited"))
    assert verify(dep.store).ok
    before = _state(http, [a, b], dep)

    second = _imported(http, data)

    assert _summary(second) == _all_duplicates(_summary(first))
    assert _state(http, [a, b], dep) == before, "the second import changed nothing"

    # the evening statement books the pending credit: it credits once, in any later file
    booked = generate.camt053([Entry(**{**pending.__dict__, "status": "BOOK"})])
    assert _summary(_imported(http, booked))["credited"] == 1
    assert _summary(_imported(http, booked))["duplicates"] == 1
    assert http.available(a, by="operator") == "760.00"
    assert len(http.entries(a, by="operator")) == 3  # 250.00, the batch's 10.00, the booked 500.00
    assert verify(dep.store).ok


@pytest.mark.parametrize("name", ["camt053.v2.minimal.xml", "camt053.v4.xml", "camt053.v8.xml"])
def test_an_edited_real_camt053_credits_the_partner_its_reference_names_once(
    http: Http, dep: Deployment, name: str
) -> None:
    partner = http.partner()
    data = _replace_once(
        fixture_bytes(name), "<Ref>4654654654654654</Ref>", f"<Ref>{partner.eur}</Ref>"
    )

    first = _imported(http, data)
    second = _imported(http, data)

    expected = {
        "format": "camt.053",
        "entries": 1,
        "credits": 1,
        "credited": 1,
        "needs_review": 0,
        "pending_confirmation": 0,
        "duplicates": 0,
        "ignored_debits": 0,
    }
    assert _summary(first) == expected
    assert _summary(second) == _all_duplicates(expected)
    assert http.available(partner, by="operator") == "8.85"
    (entry,) = http.entries(partner, by="operator")
    assert (entry["type"], entry["amount"], entry["funding_reference"]) == (
        "payin_credit",
        "8.85",
        partner.eur,
    )
    assert verify(dep.store).ok


def test_the_unedited_real_camt053_waits_for_review_because_its_reference_is_not_ours(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()

    first = _imported(http, fixture_bytes("camt053.v2.minimal.xml"))

    assert (first["credited"], first["needs_review"]) == (0, 1)
    assert _review_reasons(http) == {
        "8.85 EUR": "structured reference is not an RF creditor reference"
    }
    assert suspense_minor(dep, "EUR") == 8_85
    assert http.available(partner, by="operator") == "0.00"
    assert verify(dep.store).ok


def test_real_camt054_notifications_of_debits_write_nothing(http: Http, dep: Deployment) -> None:
    partner = http.partner()

    for name in ("camt054.v2.xml", "camt054.v4.xml", "camt054.v8.xml", "camt054.v8-with-UETR.xml"):
        body = _imported(http, fixture_bytes(name))
        assert _summary(body) == {
            "format": "camt.054",
            "entries": 1,
            "credits": 0,
            "credited": 0,
            "needs_review": 0,
            "pending_confirmation": 0,
            "duplicates": 0,
            "ignored_debits": 1,
        }, name

    _nothing_written(http, dep, partner)


def test_a_credit_notified_by_camt054_and_listed_again_in_the_camt053_credits_once(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner(currencies=("SEK",))
    uetr = "255ae394-9965-4438-ac86-f406feada396"
    notification = _replace_once(
        fixture_bytes("camt054.v8-with-UETR.xml"), "<CdtDbtInd>DBIT", "<CdtDbtInd>CRDT"
    )
    notification = _replace_once(
        notification,
        "</Refs>",
        f"</Refs><RmtInf><Ustrd>{partner.references['SEK']}</Ustrd></RmtInf>",
    )
    statement = generate.camt053(
        [
            Entry(
                amount="200000.00",
                currency="SEK",
                details=(Detail(uetr=uetr.upper(), currency="SEK", unstructured=("x",)),),
            )
        ],
        account_iban="CH2801234000123456789",
    )

    intraday = _imported(http, notification)
    evening = _imported(http, statement)

    assert (intraday["format"], intraday["credited"]) == ("camt.054", 1)
    assert (evening["format"], evening["credited"], evening["duplicates"]) == ("camt.053", 0, 1)
    assert http.available(partner, "SEK", by="operator") == "200000.00"
    assert len(http.entries(partner, by="operator")) == 1
    assert verify(dep.store).ok


# -- amounts exactly as written -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "credited"),
    [("8.850", "8.85"), ("8.85000", "8.85"), ("8.855", None), ("8.85001", None)],
)
def test_amounts_are_taken_exactly_as_the_bank_wrote_them_never_rounded(
    http: Http, dep: Deployment, written: str, credited: str | None
) -> None:
    partner = http.partner()
    data = _replace_once(
        fixture_bytes("camt053.v2.five.decimals.xml"),
        "<Ustrd>Transaction Description</Ustrd>",
        f"<Ustrd>Transaction Description {spaced_lower(partner.eur)}</Ustrd>",
    )
    data = _replace_once(data, '<Amt Ccy="EUR">8.850</Amt>', f'<Amt Ccy="EUR">{written}</Amt>')

    first = _imported(http, data)

    (payin,) = http.payins()
    if credited is not None:
        assert (first["credited"], first["needs_review"]) == (1, 0)
        assert (payin["status"], payin["amount"]) == ("credited", credited)
        assert payin["attribution"]["method"] == "remittance_reference"
        assert http.available(partner, by="operator") == credited
    else:
        assert (first["credited"], first["needs_review"]) == (0, 1)
        assert (payin["status"], payin["amount"]) == ("needs_review", written)
        assert payin["review_reason"] == f"amount {written} has more decimals than EUR allows"
        assert (
            http.available(partner, by="operator") == "0.00"
            and http.entries(partner, by="operator") == []
        )
        assert suspense(dep) == {}, "an amount we cannot express is not parked as a number"
        refused = http.attribute(payin["id"], partner.id, key="attr-1")
        assert assert_problem(refused, 422, "amount_precision_exceeded")
        returned = http.give_back(payin["id"], "amount finer than EUR", key="ret-1")
        assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert _summary(_imported(http, data)) == _all_duplicates(_summary(first))
    assert verify(dep.store).ok


def test_a_resent_bank_id_with_another_overprecise_amount_is_a_conflict(
    http: Http, dep: Deployment
) -> None:
    """The same bank transaction with other money is a conflict, also when both amounts are
    finer than the currency (``check_resend`` compares ``amount_minor``, None for both)."""
    first = generate.camt053([Entry(amount="8.851", servicer_ref="ASR-1")])
    other = generate.camt053([Entry(amount="8.852", servicer_ref="ASR-1")])
    assert _imported(http, first)["needs_review"] == 1

    second = _imported(http, other)

    assert (second["conflicts"], second["duplicates"]) == (1, 0)
    (payin,) = http.payins()
    assert payin["amount"] == "8.851"


def test_a_resent_bank_id_with_another_amount_is_reported_and_the_rest_of_the_file_imported(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()
    first = generate.camt053([Entry(amount="10.00", servicer_ref="ASR-1")])
    _imported(http, first)
    second = generate.camt053(
        [
            Entry(amount="11.00", servicer_ref="ASR-1"),
            Entry(amount="20.00", servicer_ref="ASR-2", details=(Detail(reference=partner.eur),)),
        ]
    )

    body = _imported(http, second)

    assert (body["conflicts"], body["credited"], body["duplicates"]) == (1, 1, 0)
    amounts = sorted(p["amount"] for p in http.payins())
    assert amounts == ["10.00", "20.00"]
    assert http.available(partner, by="operator") == "20.00"
    assert verify(dep.store).ok


# -- MT940 ----------------------------------------------------------------------------------


def test_an_edited_real_mt940_imported_twice_credits_once_and_queues_the_rest(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()
    reference = spaced_lower(partner.eur)  # split over a line break of the :86: field
    data = _replace_once(
        fixture_bytes("jejik-ing.sta"),
        ":86:0123456789 EJ46GREENP100610T1456 CLIEOP TMG GPHONGKONG AMSTERDAM",
        f":86:0123456789 EJ46GREENP100610T1456 {reference} GPHONGKONG AMSTERDAM",
    )

    first = _imported(http, data)

    expected = {
        "format": "mt940",
        "entries": 7,
        "credits": 2,
        "credited": 1,
        "needs_review": 1,
        "pending_confirmation": 0,
        "duplicates": 0,
        "ignored_debits": 5,
    }
    assert _summary(first) == expected
    assert http.available(partner, by="operator") == "3.68"
    assert _review_reasons(http) == {"1.00 EUR": "no payment reference"}
    assert suspense_minor(dep, "EUR") == 1_00
    before = _state(http, [partner], dep)

    second = _imported(http, data)

    assert _summary(second) == _all_duplicates(expected)
    assert _state(http, [partner], dep) == before
    assert verify(dep.store).ok


def test_a_reference_in_a_german_structured_86_field_credits_the_partner(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()
    ref = partner.eur.lower()
    # split over a physical line break and over the ?22/?23 sub-field boundary
    data = _replace_once(
        fixture_bytes("betterplace-sepa_mt9401.sta"),
        "?22SVWZ\n+TO 13 TFNr 20004 Einga?23",
        f"?22SVWZ\n+TO 13 {ref[:7]}\n{ref[7:12]}?23{ref[12:]} Einga",
    )
    credits = parse_statement(data).credits
    others = [c for c in credits if ref.upper() not in (c.remittance_info or "").upper()]
    assert len(others) == len(credits) - 1
    parked_minor = sum(int(Decimal(c.amount) * 100) for c in others)

    first = _imported(http, data)

    expected = {
        "format": "mt940",
        "entries": 97,
        "credits": 41,
        "credited": 1,
        "needs_review": 40,
        "pending_confirmation": 0,
        "duplicates": 0,
        "ignored_debits": 56,
    }
    assert _summary(first) == expected
    assert http.available(partner, by="operator") == "15000.05"
    assert suspense_minor(dep, "EUR") == parked_minor
    before = _state(http, [partner], dep)
    assert _summary(_imported(http, data)) == _all_duplicates(expected)
    assert _state(http, [partner], dep) == before
    assert verify(dep.store).ok


# -- refusals: nothing is written ---------------------------------------------------------------

NOT_STATEMENTS = {
    "empty": (b"", "file is empty"),
    "whitespace": (b"  \n\t ", "only whitespace"),
    "text": (b"hello, this is not a bank statement\n", "no MT940 fields"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    "json": (b'{"entries": []}', "JSON"),
    "html": (b"<!DOCTYPE html><html><body>login</body></html>", "HTML"),
    "csv": (b"date,amount,reference\n2024-05-02,100.00,RF18539007547034\n", "no MT940 fields"),
    "other-xml": (b"<?xml version='1.0'?><invoice><total>1</total></invoice>", "<invoice>"),
    "pain.001": (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/>'
        b"</Document>",
        "pain.001",
    ),
    "broken-xml": (b"<Document><BkToCstmrStmt>", "malformed XML"),
}

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/evil.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>
"""


def _nothing_written(http: Http, dep: Deployment, partner: HttpPartner) -> None:
    assert http.payins() == []
    assert (
        http.available(partner, by="operator") == "0.00"
        and http.entries(partner, by="operator") == []
    )
    assert suspense(dep) == {}


def test_a_file_that_is_not_a_statement_is_refused_with_a_clear_message_and_nothing_written(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()

    for name, (data, says) in NOT_STATEMENTS.items():
        body = assert_problem(http.import_file(data), 422, "validation_error")
        assert says in body["detail"], (name, body["detail"])
        assert body["errors"][0]["field"] == "body", name

    _nothing_written(http, dep, partner)


def test_a_statement_with_one_unreadable_credit_is_refused_whole(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()
    data = generate.camt053(
        [
            Entry(amount="10.00", details=(Detail(reference=partner.eur),)),
            Entry(amount="12,50", details=(Detail(reference=partner.eur),)),  # a comma
        ]
    )

    assert_problem(http.import_file(data), 422, "validation_error")

    _nothing_written(http, dep, partner)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(EXTERNAL_DTD, id="external-dtd"),
        pytest.param(BILLION_LAUGHS.decode().encode("utf-16"), id="billion-laughs-utf16"),
    ],
)
def test_hostile_xml_is_refused_before_any_entity_is_expanded(
    http: Http, dep: Deployment, data: bytes
) -> None:
    partner = http.partner()

    body = assert_problem(http.import_file(data), 422, "validation_error")

    assert "DTD" in body["detail"], body["detail"]
    assert "root:" not in body["detail"], "no file content leaks into the answer"
    _nothing_written(http, dep, partner)


def test_a_file_over_the_size_limit_is_refused_with_413_and_nothing_written(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()
    at_limit = b" " * limits.IMPORT_FILE_BYTES_MAX

    body = assert_problem(http.import_file(at_limit), 422, "validation_error")
    assert "whitespace" in body["detail"], "a file of exactly the limit is read"
    assert_problem(http.import_file(at_limit + b" "), 413, "payload_too_large")
    streamed = http.client.post(
        "/v1/payins/import",
        content=iter([b" " * 1_048_576] * 21),  # chunked: no Content-Length to trust
        headers=http.operator,
    )
    assert_problem(streamed, 413, "payload_too_large")
    with pytest.raises(PayloadTooLarge):  # what the CLI calls
        imports.import_statement(dep, ctx_for(), at_limit + b" ")

    _nothing_written(http, dep, partner)


def test_only_operators_may_import_statements(http: Http, dep: Deployment) -> None:
    partner = http.partner()
    data = generate.camt053([Entry(details=(Detail(reference=partner.eur),))])

    for headers in (partner.admin, partner.server):
        assert_problem(http.import_file(data, headers=headers), 403, "forbidden")
    assert_problem(http.client.post("/v1/payins/import", content=data), 401, "unauthenticated")

    _nothing_written(http, dep, partner)


# -- the command line ---------------------------------------------------------------------------


def _zeropools(*args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("zeropools")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEROPOOLS_")}
    env.pop("COLUMNS", None)  # what a cron job or a pipe gets: no terminal width
    return subprocess.run(
        [str(executable), *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture
def cli_db(sqlite_url: str) -> tuple[str, str]:
    """A SQLite database set up by ``zeropools init``, with one EUR partner: (url, reference)."""
    init = _zeropools("init", "--db", sqlite_url)
    assert init.returncode == 0, init.stderr
    store = open_store(sqlite_url)
    try:
        partner = onboard(deployment(Settings(db_url=sqlite_url), store))
    finally:
        store.close()
    return sqlite_url, reference_of(partner)


def test_the_cli_imports_a_statement_prints_its_summary_and_changes_nothing_the_second_time(
    cli_db: tuple[str, str], tmp_path: Path
) -> None:
    url, reference = cli_db
    statement = tmp_path / "statement.xml"
    statement.write_bytes(
        _replace_once(
            fixture_bytes("camt053.v8.xml"),
            "<Ref>4654654654654654</Ref>",
            f"<Ref>{reference}</Ref>",
        )
    )

    first = _zeropools("import-statement", str(statement), "--db", url)
    second = _zeropools("import-statement", str(statement), "--db", url)
    checked = _zeropools("verify", "--db", url)

    assert first.returncode == 0, first.stderr
    assert " ".join(first.stdout.split()) == (
        "camt.053: 1 entry, 1 credit: 1 credited, 0 to review, 0 pending, 0 already known, "
        "0 conflicts; 0 debits ignored"
    )
    assert second.returncode == 0, second.stderr
    assert "0 credited" in " ".join(second.stdout.split())
    assert "1 already known" in " ".join(second.stdout.split())
    assert checked.returncode == 0, checked.stdout
    store = open_store(url)
    try:
        dep = deployment(Settings(db_url=url), store)
        (partner_id,) = store.read(lambda tx: tx.partner_ids())
        balance = store.read(lambda tx: tx.ledger_state(partner_id)).balances["EUR"]
        assert balance.available_minor == 8_85
        assert verify(dep.store).ok
    finally:
        store.close()


def test_the_cli_refuses_a_file_that_is_not_a_statement_with_exit_status_1(
    cli_db: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = cli_db
    statement = tmp_path / "notes.txt"
    statement.write_text("hello, this is not a bank statement\n")

    refused = _zeropools("import-statement", str(statement), "--db", url)

    assert refused.returncode == 1
    assert "not a camt.053/camt.054 or MT940 statement" in " ".join(refused.stderr.split())


def test_the_cli_prints_the_summary_on_one_line_when_piped(
    cli_db: tuple[str, str], tmp_path: Path
) -> None:
    """A log line or a script reading stdout needs the summary whole.

    ``cli.import_statement`` prints it with rich's ``Console.print``, which wraps at 80 columns
    when stdout is not a terminal: "... 0 already" / "known, 0 conflicts; ..." on two lines.
    """
    url, _ = cli_db
    statement = tmp_path / "statement.sta"
    statement.write_bytes(fixture_bytes("jejik-ing.sta"))

    done = _zeropools("import-statement", str(statement), "--db", url)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "mt940: 7 entries, 2 credits: 0 credited, 2 to review, 0 pending, 0 already known, "
        "0 conflicts; 5 debits ignored"
    ]

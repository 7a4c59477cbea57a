"""The format is recognised from the content alone, and anything else is refused in plain words.

Method: feed ``parse_statement`` the real samples (whose names are never seen by it), the same
samples re-encoded or wrapped the way banks deliver them, and files that are not statements
(garbage, empty, JSON, HTML, a pain.001 payment order, camt.052, MT942...). Every refusal must be
a ``StatementError`` whose message names the problem.
"""

from __future__ import annotations

import re

import pytest

from support.fixtures import bank_dir
from zeropools.bankfiles import StatementError, parse_statement

from .generate import Entry, camt053, camt054

_MT940 = (
    b":20:STARTUMS\n:25:DE89370400440532013000\n:28C:1/1\n:60F:C240501EUR0,00\n"
    b":61:2405020502C100,00NTRFNONREF//B1\n:86:166?00GUTSCHRIFT?20SVWZ+RF18539007547034\n"
    b":62F:C240502EUR100,00\n-\n"
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("camt053.v2.minimal.xml", ("camt.053", "001.02")),
        ("camt053.v3.xml", ("camt.053", "001.03")),
        ("camt053.v4.xml", ("camt.053", "001.04")),
        ("camt053.v8.xml", ("camt.053", "001.08")),
        ("camt054.v2.xml", ("camt.054", "001.02")),
        ("camt054.v4.xml", ("camt.054", "001.04")),
        ("camt054.v8.xml", ("camt.054", "001.08")),
        ("cmxl-mt940.sta", ("mt940", None)),
        ("jejik-ing.sta", ("mt940", None)),
    ],
)
def test_each_sample_format_is_detected_from_its_content(
    name: str, expected: tuple[str, str | None]
) -> None:
    result = parse_statement((bank_dir() / name).read_bytes())
    assert (result.format, result.version) == expected


@pytest.mark.parametrize("version", [f"001.{n:02d}" for n in range(2, 14)])
def test_camt_053_and_054_are_read_in_every_version_from_02_on(version: str) -> None:
    for generate, message in ((camt053, "camt.053"), (camt054, "camt.054")):
        result = parse_statement(generate([Entry(amount="12.34")], version=version))
        assert (result.format, result.version) == (message, version)
        assert [credit.amount for credit in result.credits] == ["12.34"]


def test_camt_in_utf16_with_a_byte_order_mark_is_read() -> None:
    text = camt053([Entry(amount="5.00")]).decode("utf-8")
    data = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert [c.amount for c in parse_statement(data).credits] == ["5.00"]


def test_camt_with_a_utf8_byte_order_mark_and_leading_blank_lines_is_read() -> None:
    data = b"\xef\xbb\xbf" + camt053([Entry(amount="5.00")])
    assert len(parse_statement(data).credits) == 1


def test_camt_with_a_namespace_prefix_is_read() -> None:
    text = camt053([Entry()]).decode("utf-8").replace("xmlns=", "xmlns:c=")
    prefixed = re.sub(r"<(/?)([A-Za-z])", r"<\1c:\2", text)
    assert "<c:Document xmlns:c=" in prefixed
    assert len(parse_statement(prefixed.encode("utf-8")).credits) == 1


def test_mt940_with_crlf_line_ends_latin1_text_and_a_byte_order_mark_is_read() -> None:
    data = b"\xef\xbb\xbf" + _MT940.replace(b"SVWZ+", b"SVWZ+M\xfcller ").replace(b"\n", b"\r\n")
    (credit,) = parse_statement(data).credits
    assert credit.remittance_info == "SVWZ+Müller RF18539007547034"


def test_mt940_in_a_swift_fin_envelope_is_read() -> None:
    data = (
        b"{1:F01DEUTDEFFAXXX0000000000}{2:O9401200240502DEUTDEFFAXXX00000000002405021200N}{4:\n"
        + _MT940.removesuffix(b"-\n")
        + b"-}{5:{CHK:123456789ABC}}"
    )
    result = parse_statement(data)
    assert (result.format, result.entries, len(result.credits)) == ("mt940", 1, 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b" \r\n\t\n", "only whitespace"),
        (bytes(range(256)) * 4, "not a camt.053/camt.054 or MT940 statement"),
        (b"\x00\x01\x02garbage\xff\xfe", "not a camt.053/camt.054 or MT940 statement"),
        (b"Date;Amount;Text\n2024-05-02;100,00;RF18\n", "no XML document and no MT940 fields"),
        (b'{"statement": {"entries": []}}', "looks like JSON"),
        (b"[1, 2, 3]", "looks like JSON"),
        (
            b"<!DOCTYPE html>\n<html><head><title>Login</title></head><body></body></html>",
            "HTML page",
        ),
        (b"<html><body><p>Session expired</p></body></html>", "HTML page"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive"),
        (b"<Document><BkToCstmrStmt/></Document>", "has namespace ''"),
        (
            b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>",
            "root element is <feed>",
        ),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'>", "malformed XML"),
        (b"<a><b></a>", "malformed XML"),
        (b'<?xml version="1.0" encoding="U-TF-8"?><Document/>', "malformed XML"),
    ],
    ids=lambda value: value[:24] if isinstance(value, bytes) else None,
)
def test_a_file_that_is_not_a_statement_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(StatementError, match=message.replace("(", r"\(")):
        parse_statement(data)


def test_a_pain_001_payment_order_is_refused_by_name() -> None:
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">'
        b"<CstmrCdtTrfInitn><GrpHdr><MsgId>1</MsgId></GrpHdr></CstmrCdtTrfInitn></Document>"
    )
    with pytest.raises(StatementError, match=r"the XML message is pain\.001\.001\.03"):
        parse_statement(data)


def test_a_camt_052_intraday_report_is_refused_with_advice() -> None:
    data = camt053([Entry()]).replace(b"camt.053", b"camt.052")
    with pytest.raises(StatementError, match="intraday account report"):
        parse_statement(data)


def test_camt_version_001_01_is_refused_as_too_old() -> None:
    data = camt053([Entry()], version="001.01")
    with pytest.raises(StatementError, match="too old"):
        parse_statement(data)


def test_a_camt_document_without_statements_is_refused() -> None:
    data = camt053([]).replace(b"BkToCstmrStmt", b"BkToCstmrAcctRpt")
    with pytest.raises(StatementError, match="no <BkToCstmrStmt>/<Stmt>"):
        parse_statement(data)


def test_an_mt942_interim_report_is_refused_because_its_lines_are_not_booked() -> None:
    data = _MT940.replace(b":28C:1/1\n", b":28C:1/1\n:34F:EUR0,\n:13D:2405021200+0200\n")
    with pytest.raises(StatementError, match="MT942"):
        parse_statement(data)

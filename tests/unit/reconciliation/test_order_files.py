"""Partner order files: CSV with a header and JSON lines read into text fields with line numbers.

Goal: both syntaxes give the same fields for the same rows; a bad line is reported with its
physical line number and the rest still comes out; only a file that cannot be read as a whole
(no header, a required column missing or named twice, not UTF-8, an unclosed quote, too many
rows) raises ``OrderFileError``; the format is the declared media type, else sniffed; the
caller's stream stays open (it is read again).
Method: ``formats.orders`` on in-memory bytes; no database.
"""

from __future__ import annotations

import io
import json

import pytest

from zeropools.domain.matching import COLUMNS, REQUIRED_COLUMNS
from zeropools.formats import orders
from zeropools.formats.orders import LineProblem, OrderFileError, OrderLine


def read(data: bytes, kind: str, rows_max: int = 1000) -> list[OrderLine | LineProblem]:
    stream = io.BytesIO(data)
    found = list(
        orders.read_orders(
            stream, kind, columns=COLUMNS, required=REQUIRED_COLUMNS, rows_max=rows_max
        )
    )
    assert not stream.closed, "the caller's stream is read again: it must stay open"
    return found


CSV = (
    b"partner_order_id,amount,currency,created_at,trade_id,status,note\n"
    b"o-1,100.00,EUR,2026-11-23T09:15:00Z,pt_test_1,settled,ignored\n"
    b"\n"
    b'"o-2, with comma",50,EUR,2026-11-23T09:16:00Z,,,"a note\nacross lines"\n'
    b"o-3,25.00,EUR,2026-11-23T09:17:00Z\n"
)
JSON_LINES = b"\n".join(
    json.dumps(row).encode()
    for row in (
        {
            "partner_order_id": "o-1",
            "amount": "100.00",
            "currency": "EUR",
            "created_at": "2026-11-23T09:15:00Z",
            "trade_id": "pt_test_1",
            "status": "settled",
            "note": {"ignored": True},
        },
        {
            "partner_order_id": "o-2, with comma",
            "amount": "50",
            "currency": "EUR",
            "created_at": "2026-11-23T09:16:00Z",
            "trade_id": "",
            "status": None,
        },
        {
            "partner_order_id": "o-3",
            "amount": "25.00",
            "currency": "EUR",
            "created_at": "2026-11-23T09:17:00Z",
        },
    )
)


def test_csv_rows_come_out_as_fields_with_their_first_physical_line() -> None:
    found = read(CSV, orders.CSV)
    assert all(isinstance(item, OrderLine) for item in found)
    assert [item.line for item in found] == [2, 4, 6]
    first = found[0]
    assert isinstance(first, OrderLine)
    assert first.fields == {
        "partner_order_id": "o-1",
        "amount": "100.00",
        "currency": "EUR",
        "created_at": "2026-11-23T09:15:00Z",
        "trade_id": "pt_test_1",
        "status": "settled",
    }
    short = found[2]
    assert isinstance(short, OrderLine)
    assert short.fields["trade_id"] is None and short.fields["status"] is None


def test_csv_and_json_lines_give_the_same_fields_for_the_same_rows() -> None:
    def essentials(items: list[OrderLine | LineProblem]) -> list[dict[str, str | None]]:
        # an empty cell, an empty string and an absent key all mean "not given"
        out = []
        for item in items:
            assert isinstance(item, OrderLine)
            out.append({name: item.fields.get(name) or None for name in COLUMNS})
        return out

    from_csv, from_json = read(CSV, orders.CSV), read(JSON_LINES, orders.JSON_LINES)
    assert essentials(from_csv) == essentials(from_json)
    assert all(
        set(item.fields) <= set(COLUMNS) for item in from_json if isinstance(item, OrderLine)
    )


def test_bad_json_lines_are_reported_by_line_and_the_rest_still_read() -> None:
    data = (
        b'{"partner_order_id": "a", "amount": "1.00", "currency": "EUR", "created_at": "x"}\n'
        b"{not json\n"
        b"[1, 2]\n"
        b'{"partner_order_id": "b", "amount": 100.0, "currency": "EUR"}\n'
        b"   \n"
        b'{"partner_order_id": "c", "amount": "3.00", "currency": "EUR", "created_at": "y"}\n'
    )
    found = read(data, orders.JSON_LINES)
    assert [(type(item).__name__, item.line) for item in found] == [
        ("OrderLine", 1),
        ("LineProblem", 2),
        ("LineProblem", 3),
        ("LineProblem", 4),
        ("OrderLine", 6),
    ]
    number = found[3]
    assert isinstance(number, LineProblem)
    assert number.field == "amount" and "JSON number" in number.message


def test_a_csv_row_with_more_fields_than_the_header_is_a_bad_row_not_a_bad_file() -> None:
    data = (
        b"partner_order_id,amount,currency,created_at\n"
        b"a,1.00,EUR,2026-11-23T09:00:00Z,extra\n"
        b"b,2.00,EUR,2026-11-23T09:00:00Z,,\n"  # empty trailing cells: a spreadsheet's habit
    )
    found = read(data, orders.CSV)
    assert isinstance(found[0], LineProblem) and found[0].line == 2
    assert isinstance(found[1], OrderLine) and found[1].fields["partner_order_id"] == "b"


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (b"", orders.CSV, "header"),
        (b"partner_order_id,amount,currency\nx,1,EUR\n", orders.CSV, "lacks created_at"),
        (
            b"partner_order_id,amount,amount,currency,created_at\n",
            orders.CSV,
            "named twice",
        ),
        (b"partner_order_id,amount,currency,created_at\n\xff\xfe,1,EUR,x\n", orders.CSV, "UTF-8"),
        (
            b'partner_order_id,amount,currency,created_at\n"never closed,1,EUR,x\n',
            orders.CSV,
            "CSV",
        ),
        (b'{"a": "1"}\n\xff\n', orders.JSON_LINES, "UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_whole_raises(data: bytes, kind: str, message: str) -> None:
    with pytest.raises(OrderFileError, match=message):
        read(data, kind)


def test_more_rows_than_allowed_refuse_the_file() -> None:
    data = b"partner_order_id,amount,currency,created_at\n" + b"a,1,EUR,x\n" * 4
    assert len(read(data, orders.CSV, rows_max=4)) == 4
    with pytest.raises(OrderFileError, match="more than 3 rows"):
        read(data, orders.CSV, rows_max=3)


@pytest.mark.parametrize(
    ("media_type", "data", "kind"),
    [
        ("text/csv; charset=utf-8", b'{"looks": "like json"}', orders.CSV),
        ("application/x-ndjson", b"a,b,c", orders.JSON_LINES),
        ("application/jsonl", b"a,b,c", orders.JSON_LINES),
        (None, b'\xef\xbb\xbf  \n{"a": "1"}', orders.JSON_LINES),
        ("application/octet-stream", b"partner_order_id,amount", orders.CSV),
        (None, b"", orders.CSV),
    ],
)
def test_the_format_is_the_declared_media_type_else_the_first_byte(
    media_type: str | None, data: bytes, kind: str
) -> None:
    stream = io.BytesIO(data)
    assert orders.detect(media_type, stream) == kind
    assert stream.tell() == 0

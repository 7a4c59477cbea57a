"""Partner order files in: CSV with a header, or JSON lines; streamed, pure on bytes.

What comes out, per data row: its line number and its fields as text (``OrderLine``), or why
that line cannot be read (``LineProblem``: bad JSON, not an object, a value that is not a
string, more fields than the header has). Whatever makes the file as a whole unreadable (not
UTF-8, no header, a required column missing or named twice, a quote never closed, more rows than
allowed) raises ``OrderFileError`` naming the line. Typing the fields (amounts, times) is the
domain's job (``domain.matching.read_row``); this module knows only the two syntaxes, so it
imports nothing of ours.

The format is the declared media type (``text/csv``; ``application/x-ndjson``, also
``application/jsonl`` and ``application/json-lines``), else sniffed from the first non-blank
byte: ``{`` is JSON lines, anything else CSV.

Line numbers are the file's physical lines, from 1 (a CSV header is line 1); a CSV record whose
quoted field spans lines is numbered by its first line. Blank lines are skipped, not reported.
Both readers take the bytes incrementally from a binary stream, so memory does not grow with the
file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

CSV = "csv"
JSON_LINES = "jsonl"
FORMATS = (CSV, JSON_LINES)
MEDIA_TYPES = {
    "text/csv": CSV,
    "application/csv": CSV,
    "application/x-ndjson": JSON_LINES,
    "application/jsonl": JSON_LINES,
    "application/json-lines": JSON_LINES,
    "application/x-jsonlines": JSON_LINES,
}
_SNIFF_BYTES = 4096


class OrderFileError(Exception):
    """The file as a whole cannot be read; ``line`` is where reading stopped (if known)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class OrderLine:
    line: int
    fields: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int
    field: str
    message: str


def detect(media_type: str | None, stream: IO[bytes]) -> str:
    """The format of ``stream`` (left at its start): by media type, else by its first byte."""
    declared = (media_type or "").split(";")[0].strip().lower()
    if declared in MEDIA_TYPES:
        return MEDIA_TYPES[declared]
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    return JSON_LINES if text.startswith(b"{") else CSV


def read_orders(
    stream: IO[bytes],
    kind: str,
    *,
    columns: Sequence[str],
    required: Sequence[str],
    rows_max: int,
) -> Iterator[OrderLine | LineProblem]:
    """The data rows of ``stream`` in file order, each with the ``columns`` it has (others are
    ignored); raises ``OrderFileError`` (see the module)."""
    assert kind in FORMATS, kind
    assert set(required) <= set(columns), (required, columns)
    known = frozenset(columns)
    reader = _csv_rows(stream, required, known) if kind == CSV else _json_rows(stream, known)
    for rows, item in enumerate(reader, start=1):
        if rows > rows_max:
            raise OrderFileError(f"more than {rows_max} rows; split the file", item.line)
        yield item


def _csv_rows(
    stream: IO[bytes], required: Sequence[str], known: frozenset[str]
) -> Iterator[OrderLine | LineProblem]:
    # newline="": the csv module sees line ends itself (quoted fields may contain them)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        records = csv.reader(text, strict=True)
        header = _header(records, required)
        width = len(header)
        while True:
            start = records.line_num + 1
            try:
                record = next(records)
            except StopIteration:
                return
            except csv.Error as exc:
                raise OrderFileError(f"not readable as CSV: {exc}", start) from None
            except UnicodeDecodeError:
                raise OrderFileError("not UTF-8 text", start) from None
            if not any(field.strip() for field in record):
                continue  # a blank line
            if len(record) > width and any(field.strip() for field in record[width:]):
                yield LineProblem(start, "row", f"{len(record)} fields; the header has {width}")
                continue
            values: list[str | None] = list(record[:width])
            values += [None] * (width - len(values))
            fields = {name: v for name, v in zip(header, values, strict=True) if name in known}
            yield OrderLine(start, fields)
    finally:
        text.detach()  # the caller's stream stays open (it is read again)


def _header(records: Iterator[list[str]], required: Sequence[str]) -> list[str]:
    try:
        for record in records:
            if any(field.strip() for field in record):
                header = [field.strip().lower() for field in record]
                break
        else:
            raise OrderFileError("empty file: a CSV header line is required", 1)
    except csv.Error as exc:
        raise OrderFileError(f"not readable as CSV: {exc}", 1) from None
    except UnicodeDecodeError:
        raise OrderFileError("not UTF-8 text", 1) from None
    named = [name for name in header if name]
    twice = sorted({name for name in named if named.count(name) > 1})
    if twice:
        raise OrderFileError(f"column {', '.join(twice)} named twice in the header", 1)
    missing = [name for name in required if name not in header]
    if missing:
        raise OrderFileError(
            f"the header lacks {', '.join(missing)} (required: {', '.join(required)})", 1
        )
    return header


def _json_rows(stream: IO[bytes], known: frozenset[str]) -> Iterator[OrderLine | LineProblem]:
    for number, raw in enumerate(stream, start=1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise OrderFileError("not UTF-8 text", number) from None
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            yield LineProblem(number, "line", f"not JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield LineProblem(number, "line", "each line is one JSON object")
            continue
        fields: dict[str, str | None] = {}
        problem = None
        for name, item in value.items():
            if name not in known:
                continue
            if item is None or isinstance(item, str):
                fields[str(name)] = item
            elif problem is None:
                kind = "a JSON number" if isinstance(item, int | float) else type(item).__name__
                problem = LineProblem(number, str(name), f'a string such as "100.00", not {kind}')
        yield problem if problem is not None else OrderLine(number, fields)

"""The finance export's CSV entry rows, rendered by the database (issue 13, bulk speed).

Why: a million-entry day spent most of its time in per-row Python (fetching 21 columns,
formatting three amounts, parsing each entry's journal lines). Here the SELECT writes each
entry's CSV line itself and works out the balances the row implies *before* it (its stored
``available_after``/``reserved_after`` minus its journal's partner deltas), so Python only joins
lines and compares whole columns (``domain.exports.ExportWriter.rendered``).

What the SQL restates from the domain, and which tests hold byte for byte against the
reference (``ExportWriter.rows``) on both stores: the cell order and plain formatting of an
``entry`` row, and ``amount_formatter``'s decimal strings. It never quotes: a cell that needs CSV
quoting makes the line fail ``rendered``'s cheap counts and the batch goes to the reference.

What it only *reads*, and refuses (NULL) rather than guesses: a row whose numbers are not
integers (SQLite stores what it is given), an amount that ``abs`` cannot take, journal lines
that are not a JSON array of at most three ``[account, integer]`` pairs written without
spaces. A NULL sends the batch to the reference path, which decides as it always did.

Columns of a row (``RENDERED_ROW_FIELDS`` in the domain): line, sequence, prev_hash, hash,
available_after_minor, reserved_after_minor, available_before_minor, reserved_before_minor.
"""

from __future__ import annotations

from zeropools.domain.exports import CSV_HEADER
from zeropools.domain.ledger import AVAILABLE, RESERVED

# a journal has at most this many lines for the SQL to read; more go to the reference path
LINES_READ_MAX = 3
_INT64_MIN = -(2**63)

# the link cells of an entry line, between its amounts and its request id: read off the CSV
# header the reference writer follows, so the two cannot drift apart
_TEXT_CELLS_AFTER_AMOUNTS = CSV_HEADER[
    CSV_HEADER.index("reserved_after") + 1 : CSV_HEADER.index("request_id")
]


def rendered_rows_sql(dialect: str, scale: int, where: str) -> tuple[str, list[str]]:
    """The SELECT of the rendered rows of the entries ``where`` picks, in sequence order, and
    the parameters that come before ``where``'s own."""
    if dialect == "sqlite":
        select, template = _sqlite_select(scale)
        return f"SELECT {select} FROM ledger_entries WHERE {where} ORDER BY sequence", [template]
    # the journal parsed once per row and kept only where it can be read (OFFSET 0 keeps the
    # planner from inlining it into each use). Text that is not JSON fails the cast, as it
    # fails ``json.loads`` on the reference path: either way the export stops.
    return (
        f"SELECT {_postgres_select(scale)} FROM ledger_entries "
        "CROSS JOIN LATERAL (SELECT lines::jsonb AS parsed OFFSET 0) AS parsed "
        f"CROSS JOIN LATERAL (SELECT {_postgres_readable()} AS journal OFFSET 0) AS read "
        f"CROSS JOIN LATERAL (SELECT {_postgres_deltas()} OFFSET 0) AS deltas "
        f"WHERE {where} ORDER BY sequence",
        [],
    )


def _postgres_select(scale: int) -> str:
    def amount(column: str) -> str:
        if scale == 0:
            return f"{column}::text"
        unit = 10**scale
        return (
            f"CASE WHEN {column} < 0 THEN '-' ELSE '' END || (abs({column}) / {unit})::text "
            f"|| '.' || lpad(mod(abs({column}), {unit})::text, {scale}, '0')"
        )

    # bigint columns: only abs(minimum) can fail, and the line is refused instead
    sound = " AND ".join(
        f"{n} >= {_INT64_MIN + 1}"
        for n in ("amount_minor", "available_after_minor", "reserved_after_minor")
    )
    cells = [
        "'entry'",
        "id",
        "sequence::text",
        "created_at",
        "type",
        amount("amount_minor"),
        amount("available_after_minor"),
        amount("reserved_after_minor"),
        *(f"coalesce({c}, '')" for c in _TEXT_CELLS_AFTER_AMOUNTS),
        "request_id",
        "hash",
        "prev_hash",
    ]
    line = f"CASE WHEN {sound} THEN " + " || ',' || ".join(cells) + " || ',,,' || E'\\r\\n' END"

    def before(column: str, delta: str) -> str:
        # numeric, so no journal amount can overflow; a bigint only where it is one
        return (
            f"CASE WHEN {delta} = trunc({delta}) AND abs({column} - {delta}) < {10**18} "
            f"THEN ({column} - {delta})::bigint END"
        )

    return (
        f"{line}, sequence, prev_hash, hash, available_after_minor, reserved_after_minor, "
        f"{before('available_after_minor', 'd_available')}, "
        f"{before('reserved_after_minor', 'd_reserved')}"
    )


def _postgres_deltas() -> str:
    """``d_available``, ``d_reserved``: the partner deltas (numeric) of a readable journal,
    NULL where it is not."""

    def delta(account: str) -> str:
        terms = " + ".join(
            f"CASE journal -> {i} ->> 0 WHEN '{account}' THEN (journal -> {i} ->> 1)::numeric "
            "ELSE 0 END"
            for i in range(LINES_READ_MAX)
        )
        return f"CASE WHEN journal IS NOT NULL THEN {terms} END"

    return f"{delta(AVAILABLE)} AS d_available, {delta(RESERVED)} AS d_reserved"


def _postgres_readable() -> str:
    """``parsed`` where it is an array of at most LINES_READ_MAX two-item arrays whose partner
    amounts are numbers (one jsonpath test), else NULL. Nested CASE, not AND: PostgreSQL may
    evaluate AND's operands in any order, and ``jsonb_array_length`` of a non-array raises;
    ``@?`` raises nothing."""
    partner = f'@[0] == "{AVAILABLE}" || @[0] == "{RESERVED}"'
    odd = (
        'strict $[*] ? (@.type() != "array" || @.size() != 2 || '
        f'(({partner}) && @[1].type() != "number"))'
    )
    return (
        "CASE WHEN jsonb_typeof(parsed) = 'array' THEN CASE WHEN "
        f"jsonb_array_length(parsed) <= {LINES_READ_MAX} AND NOT parsed @? '{odd}' "
        "THEN parsed END END"
    )


def _sqlite_select(scale: int) -> tuple[str, str]:
    """The SELECT list of the rendered rows on SQLite and its one parameter, the ``printf``
    format (passed as a parameter: the executor rewrites ``%s`` in SQL text)."""
    amount = "%d" if scale == 0 else f"%s%d.%0{scale}d"
    template = f"entry,%s,%d,%s,%s,{amount},{amount},{amount},%s,%s,%s,%s,%s,%s,%s,%s,%s,,,\r\n"

    def cells(column: str) -> str:
        if scale == 0:
            return column
        unit = 10**scale
        return f"iif({column} < 0, '-', ''), abs({column}) / {unit}, abs({column}) % {unit}"

    numbers = ("sequence", "amount_minor", "available_after_minor", "reserved_after_minor")
    sound = " AND ".join(
        [f"typeof({n}) = 'integer'" for n in numbers]
        + [f"{n} >= {_INT64_MIN + 1}" for n in numbers[1:]]
    )
    # the journal, read by position (CASE <account> WHEN reads each account once); its shape
    # is checked once, with the numbers, in the line's CASE: a row that fails has no line,
    # so its balances are never looked at (only the JSON's validity guards them, as ->>
    # raises on text that is not JSON)
    readable = (
        "json_valid(lines) AND json_type(lines) = 'array' AND json_array_length(lines) <= "
        f"{LINES_READ_MAX} AND instr(lines, ' ') = 0 AND instr(lines, ',\"') = 0 AND "
        + " AND ".join(
            f"ifnull(json_array_length(lines, '$[{i}]'), 2) = 2" for i in range(LINES_READ_MAX)
        )
    )
    line = (
        f"CASE WHEN {sound} AND {readable} THEN printf(%s, id, sequence, created_at, type, "
        f"{cells('amount_minor')}, {cells('available_after_minor')}, "
        f"{cells('reserved_after_minor')}, "
        + ", ".join(f"ifnull({c}, '')" for c in _TEXT_CELLS_AFTER_AMOUNTS)
        + ", request_id, hash, prev_hash) END"
    )

    def delta(account: str) -> str:
        return " + ".join(
            f"CASE lines ->> '$[{i}][0]' WHEN '{account}' THEN lines ->> '$[{i}][1]' ELSE 0 END"
            for i in range(LINES_READ_MAX)
        )

    select = (
        f"{line}, sequence, prev_hash, hash, available_after_minor, reserved_after_minor, "
        f"CASE WHEN json_valid(lines) THEN available_after_minor - ({delta(AVAILABLE)}) END, "
        f"CASE WHEN json_valid(lines) THEN reserved_after_minor - ({delta(RESERVED)}) END"
    )
    return select, template

"""Bank statement files in, credit notifications out: pure functions on bytes, no I/O.

Reads ISO 20022 camt.053 and camt.054 (001.02 and later) and SWIFT MT940, recognised by content.
Only credits become ``StatementCredit``; debits and reversals are counted, never returned.
How ``bank_transaction_id`` is built is described in ``zeropools.bankfiles.ids``.
"""

from __future__ import annotations

from zeropools.bankfiles import camt, mt940_reader
from zeropools.bankfiles.detect import STATEMENT_BYTES_MAX, Camt, sniff
from zeropools.bankfiles.model import StatementCredit, StatementError, StatementParse

__all__ = [
    "STATEMENT_BYTES_MAX",
    "StatementCredit",
    "StatementError",
    "StatementParse",
    "parse_statement",
]


def parse_statement(data: bytes) -> StatementParse:
    """Parse one statement file; raise ``StatementError`` saying why when it cannot be read."""
    document = sniff(bytes(data))
    if isinstance(document, Camt):
        return camt.parse(document)
    return mt940_reader.parse(document)

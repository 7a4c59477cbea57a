"""``bank_transaction_id`` is stable across parses, unique within a file, and never too long.

Method: parse every sample file (and the credit twins of the camt samples, which hold more
credits) twice and compare the ids; then build the cases that are hard on purpose: identical
credits at different places, bank ids shared between transactions, and bank ids so long that
the id has to be hashed to fit ``BANK_TRANSACTION_ID_CHARS_MAX``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.fixtures import all_files
from zeropools.bankfiles import parse_statement
from zeropools.domain.limits import BANK_TRANSACTION_ID_CHARS_MAX

from .generate import ACCOUNT_IBAN, Detail, Entry, camt053, camt054

_READABLE = [path for path in all_files() if path.name != "self-provided-sparkassen.sta"]


def _variants(path: Path) -> list[bytes]:
    data = path.read_bytes()
    twin = data.replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>CRDT</CdtDbtInd>")
    # MT940: every debit line (":61:YYMMDD[MMDD]D...") made a credit.
    twin = re.sub(rb"(?m)^(:61:[0-9]{6}(?:[0-9]{4})?)D", rb"\1C", twin)
    return [data, twin]


@pytest.mark.parametrize("path", _READABLE, ids=lambda path: path.name)
def test_ids_of_every_sample_file_are_stable_and_unique(path: Path) -> None:
    for data in _variants(path):
        first, second = parse_statement(data), parse_statement(data)
        ids = [credit.bank_transaction_id for credit in first.credits]
        assert ids == [credit.bank_transaction_id for credit in second.credits]
        assert len(set(ids)) == len(ids)
        assert all(0 < len(i) <= BANK_TRANSACTION_ID_CHARS_MAX for i in ids)


def test_identical_credits_at_different_places_get_different_ids() -> None:
    same = Entry(details=(Detail(end_to_end_id="INV-1"),))
    data = camt053([same, Entry(amount="1.00"), same, same])
    ids = [credit.bank_transaction_id for credit in parse_statement(data).credits]
    base = f"camt:{ACCOUNT_IBAN}:e2e:INV-1:2024-05-03:100:EUR"
    assert [ids[0], ids[2], ids[3]] == [base, f"{base}~2", f"{base}~3"]
    assert ids == [c.bank_transaction_id for c in parse_statement(data).credits]


def test_identical_credits_without_any_bank_id_get_different_derived_ids() -> None:
    data = camt053([Entry(details=()), Entry(details=())])
    first, second = (c.bank_transaction_id for c in parse_statement(data).credits)
    assert first != second
    assert first.startswith("camt-derived:") and second.startswith("camt-derived:")


def test_the_same_payment_in_a_statement_and_a_notification_gets_the_same_id() -> None:
    # The point of bank ids: the evening camt.053 repeats the intraday camt.054's payment.
    entry = Entry(servicer_ref="BANK-99", details=(Detail(uetr="9a0f1e2c-0000-4000-8000-1"),))
    notified = parse_statement(camt054([entry])).credits[0].bank_transaction_id
    stated = parse_statement(camt053([Entry(amount="5.00"), entry])).credits[1].bank_transaction_id
    assert notified == stated == f"camt:{ACCOUNT_IBAN}:uetr:9a0f1e2c-0000-4000-8000-1"


def test_the_account_scopes_the_id() -> None:
    entry = Entry(servicer_ref="R1")
    here = parse_statement(camt053([entry])).credits[0].bank_transaction_id
    there = parse_statement(camt053([entry], account_iban="NL91ABNA0417164300")).credits[0]
    assert here != there.bank_transaction_id


def test_an_id_longer_than_the_limit_is_hashed_deterministically() -> None:
    long_ref = "R" * (BANK_TRANSACTION_ID_CHARS_MAX + 50)
    data = camt053([Entry(servicer_ref=long_ref), Entry(servicer_ref=long_ref)])
    ids = [c.bank_transaction_id for c in parse_statement(data).credits]
    assert all(
        i.startswith("camt-hashed:") and len(i) <= BANK_TRANSACTION_ID_CHARS_MAX for i in ids
    )
    assert len(set(ids)) == 2
    assert ids == [c.bank_transaction_id for c in parse_statement(data).credits]

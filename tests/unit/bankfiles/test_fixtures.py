"""Every real sample statement parses, and camt results agree with genkgo/camt's reading of it.

Method: parse each file of the shared fixture directory. For a camt file, the ``.genkgo.json``
beside it (an independent PHP parser's output) says what each credit must be: amount in minor
units, currency, dates, status, end-to-end id, UETR, creditor reference, remittance lines,
debtor, and which bank id the ``bank_transaction_id`` is built from. The camt.054 samples hold
only debits, so every camt file is also parsed as a "credit twin" (each DBIT turned into CRDT),
which compares the real notification layouts as credits too. MT940 files have no second
reading: their counts and the values asserted below were checked by reading the files by hand.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from support.fixtures import bank_dir, camt_files, mt940_files
from zeropools.bankfiles import StatementCredit, StatementError, StatementParse, parse_statement

from . import genkgo

_EXPONENT = {"EUR": 2, "SEK": 2, "CHF": 2, "PLN": 2, "DEM": 2, "JPY": 0}
_EXPECTED_FILES = {
    "camt053.v2.five.decimals.xml",
    "camt053.v2.minimal.xml",
    "camt053.v2.multi.statement.xml",
    "camt053.v3.xml",
    "camt053.v4.xml",
    "camt053.v8.xml",
    "camt054.v2.xml",
    "camt054.v4.xml",
    "camt054.v8-with-UETR.xml",
    "camt054.v8.xml",
    "betterplace-sepa_mt9401.sta",
    "cmxl-mt940.sta",
    "jejik-abnamro.sta",
    "jejik-ing.sta",
    "rabobank-iban.sta",
    "self-provided-sparkassen.sta",
}


def _name(path: Path) -> str:
    return path.name


def _minor(amount: str, currency: str) -> int:
    value = Decimal(amount).scaleb(_EXPONENT[currency])
    assert value == value.to_integral_value(), f"{amount} {currency} is not whole minor units"
    return int(value)


def _credit_twin(data: bytes) -> bytes:
    return data.replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>CRDT</CdtDbtInd>")


def test_the_shared_fixture_directory_holds_every_sample_file() -> None:
    directory = bank_dir()
    assert directory.is_dir(), f"fixture directory {directory} is missing"
    present = {path.name for path in directory.iterdir()}
    assert present >= _EXPECTED_FILES
    for path in camt_files():
        assert path.with_name(f"{path.stem}.genkgo.json").is_file()


@pytest.mark.parametrize("path", camt_files(), ids=_name)
def test_a_camt_sample_gives_the_credits_genkgo_reads_in_it(path: Path) -> None:
    _compare_with_genkgo(path, path.read_bytes(), every_entry_a_credit=False)


@pytest.mark.parametrize("path", camt_files(), ids=_name)
def test_the_credit_twin_of_a_camt_sample_gives_the_credits_genkgo_reads(path: Path) -> None:
    _compare_with_genkgo(path, _credit_twin(path.read_bytes()), every_entry_a_credit=True)


def _compare_with_genkgo(path: Path, data: bytes, *, every_entry_a_credit: bool) -> None:
    message = genkgo.load(path.with_name(f"{path.stem}.genkgo.json"))
    result = parse_statement(data)
    namespace = re.search(rb"camt\.(05[34])\.(001\.[0-9]{2})", data)
    assert namespace is not None
    assert result.format == f"camt.{namespace[1].decode()}"
    assert result.version == namespace[2].decode()
    expected = [
        entry
        for entry in message.entries
        if (every_entry_a_credit or entry.direction == "CRDT") and not entry.reversal
    ]
    if message.records == 1:
        # Only then does the JSON list every entry of the file.
        assert result.entries == len(message.entries)
        assert len(result.credits) == len(expected)  # no sample entry is split, see camt.py
        assert result.ignored_debits == len(message.entries) - len(expected)
    for entry in expected:
        _compare_entry(entry, _the_credit_for(entry, result))


def _the_credit_for(entry: genkgo.Entry, result: StatementParse) -> StatementCredit:
    found = [
        credit
        for credit in result.credits
        if credit.currency == entry.currency
        and _minor(credit.amount, credit.currency) == abs(entry.amount_minor)
        and credit.value_date == entry.value_date
        and credit.booking_date == entry.booking_date
    ]
    assert len(found) == 1, f"{entry} matches {found}"
    return found[0]


def _compare_entry(entry: genkgo.Entry, credit: StatementCredit) -> None:
    first = entry.details[0] if entry.details else None
    assert credit.booking_status == ("booked" if entry.status in (None, "BOOK") else "pending")
    assert credit.account_iban == entry.account
    assert credit.end_to_end_id == (first and first.end_to_end_id)
    assert credit.uetr == (first and first.uetr)
    assert credit.reference == (first and first.reference)
    assert credit.debtor_name == (first and first.debtor_name)
    assert credit.debtor_iban == (first and first.debtor_iban)
    lines = [line for detail in entry.details for line in detail.unstructured]
    assert credit.remittance_info == ("\n".join(lines) or None)
    kind, value = _expected_id_source(entry)
    if kind == "derived":
        assert credit.bank_transaction_id.startswith("camt-derived:")
    else:
        assert credit.bank_transaction_id.startswith(f"camt:{entry.account}:{kind}:{value}")


def _expected_id_source(entry: genkgo.Entry) -> tuple[str, str | None]:
    first = entry.details[0] if entry.details else None
    from_detail = (
        []
        if first is None
        else [
            ("uetr", first.uetr),
            ("asr", first.servicer_ref),
            ("e2e", first.end_to_end_id),
        ]
    )
    from_entry = [("asr", entry.servicer_ref), ("ntry", entry.entry_ref)]
    if len(entry.details) > 1:
        # Details kept together as one credit: the credit is the entry, its ids come first.
        candidates = from_entry + from_detail
    else:
        candidates = [*from_detail[:2], from_entry[0], *from_detail[2:], from_entry[1]]
    return next(((k, v) for k, v in candidates if v is not None), ("derived", None))


def test_a_five_decimal_camt_amount_is_kept_as_written() -> None:
    result = parse_statement((bank_dir() / "camt053.v2.five.decimals.xml").read_bytes())
    assert [credit.amount for credit in result.credits] == ["8.850"]


def test_a_multi_statement_camt_file_reads_every_statement() -> None:
    result = parse_statement((bank_dir() / "camt053.v2.multi.statement.xml").read_bytes())
    assert (result.entries, len(result.credits), result.ignored_debits) == (2, 1, 1)
    (credit,) = result.credits
    assert (credit.amount, credit.end_to_end_id) == ("8.85", "000000001")
    assert credit.remittance_info == "Transaction Description 1"


def test_a_single_transaction_detail_never_overrides_the_booked_entry_amount() -> None:
    # camt053.v3 books 8.85 EUR but its only TxDtls says 105.750 EUR: the booking decides.
    result = parse_statement((bank_dir() / "camt053.v3.xml").read_bytes())
    assert [(c.amount, c.currency) for c in result.credits] == [("8.85", "EUR")]


def test_a_notification_batch_whose_details_disagree_with_the_entry_stays_one_credit() -> None:
    # camt054.v8 books 200000 SEK; its three TxDtls say 3.1, 3.2 and 3.2 CHF.
    data = _credit_twin((bank_dir() / "camt054.v8.xml").read_bytes())
    result = parse_statement(data)
    assert [(c.amount, c.currency) for c in result.credits] == [("200000", "SEK")]
    assert result.credits[0].remittance_info == (
        "Unstructured Remittance Information V1\n"
        "Unstructured Remittance Information V3 block 1\n"
        "Unstructured Remittance Information V3 block 2"
    )


def test_a_uetr_becomes_the_bank_transaction_id() -> None:
    data = _credit_twin((bank_dir() / "camt054.v8-with-UETR.xml").read_bytes())
    (credit,) = parse_statement(data).credits
    assert credit.uetr == "255ae394-9965-4438-ac86-f406feada396"
    assert credit.bank_transaction_id == (
        "camt:CH2801234000123456789:uetr:255ae394-9965-4438-ac86-f406feada396"
    )
    assert (credit.value_date, credit.booking_date) == (None, None)


# (entries, credits, ignored debits), counted by hand from the :61: marks.
_MT940_COUNTS = {
    "betterplace-sepa_mt9401.sta": (97, 41, 56),  # 41 C, 54 D, 2 RC
    "cmxl-mt940.sta": (16, 7, 9),
    "jejik-abnamro.sta": (10, 0, 10),
    "jejik-ing.sta": (7, 2, 5),
    "rabobank-iban.sta": (4, 0, 4),
}


_REFUSED = "self-provided-sparkassen.sta"  # see the test after the next


@pytest.mark.parametrize("path", [p for p in mt940_files() if p.name != _REFUSED], ids=_name)
def test_an_mt940_sample_gives_the_counts_read_by_hand(path: Path) -> None:
    result = parse_statement(path.read_bytes())
    assert result.format == "mt940"
    assert result.version is None
    assert (result.entries, len(result.credits), result.ignored_debits) == _MT940_COUNTS[path.name]
    assert all(credit.booking_status == "booked" for credit in result.credits)


def test_an_mt940_fragment_without_account_or_currency_is_refused() -> None:
    # One :61: credit of 30,00 with no :20:, :25: or :60F:; crediting it would need a guess.
    data = (bank_dir() / _REFUSED).read_bytes()
    with pytest.raises(StatementError, match="no :25: account identification"):
        parse_statement(data)


def _by_amount(name: str, amount: str) -> StatementCredit:
    result = parse_statement((bank_dir() / name).read_bytes())
    (credit,) = [credit for credit in result.credits if credit.amount == amount]
    return credit


def test_betterplace_structured_details_give_debtor_iban_and_end_to_end_id() -> None:
    result = parse_statement((bank_dir() / "betterplace-sepa_mt9401.sta").read_bytes())
    (credit,) = [c for c in result.credits if "0724710290621954" in c.bank_transaction_id]
    assert credit.amount == "15000.05"
    assert credit.bank_transaction_id == (
        "mt940:50880050/0194777100888:bank:0724710290621954:2007-09-04:15000.05:EUR"
    )
    assert credit.debtor_name == "Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx"
    assert credit.debtor_iban == "DE42100100100043921105"
    assert credit.end_to_end_id == "EndToEndIdTFNR2000400001"
    assert credit.remittance_info is not None
    assert credit.remittance_info.startswith(
        "EREF+EndToEndIdTFNR2000400001\nSVWZ+TO 13 TFNr 20004 Eingangskanal Mint"
    )
    assert (credit.value_date, credit.booking_date) == ("2007-09-04", "2007-09-04")
    assert credit.account_iban is None  # :25: is "bank code/account", not an IBAN


def test_betterplace_reversals_of_credits_are_not_credits() -> None:
    result = parse_statement((bank_dir() / "betterplace-sepa_mt9401.sta").read_bytes())
    # 204,88 EUR: one C line (a collective credit) and two RC lines ("RCR": reversal of credit,
    # funds code R) that take it back. Only the C line is a credit.
    reversed_amount = [c for c in result.credits if c.amount == "204.88"]
    assert [c.remittance_info for c in reversed_amount] == ["0904059001"]


def test_cmxl_amounts_keep_their_written_decimals_and_plain_details_stay_whole() -> None:
    assert _by_amount("cmxl-mt940.sta", "20000.00").debtor_name == (
        "HUTA SZKLA TOPIC ULPRZEMYSLOWA 67 32-669 WROCLAW"
    )
    salary = _by_amount("cmxl-mt940.sta", "3000")  # written "3000,"
    assert (salary.debtor_name, salary.debtor_iban) == ("MUELLER", None)  # ?31 is no IBAN
    assert salary.remittance_info == "Gehalt OktoberFirmaMustermannGmbH"
    assert salary.bank_transaction_id == "mt940:10020030/1234567:bank:55555:2002-11-02:3000:EUR"
    check = _by_amount("cmxl-mt940.sta", "18500")
    assert (check.remittance_info, check.currency, check.value_date) == (
        "999PN2406SCHECK",
        "DEM",
        "2013-10-17",
    )


def test_ing_statement_totals_after_the_closing_balance_stay_out_of_the_last_credit() -> None:
    result = parse_statement((bank_dir() / "jejik-ing.sta").read_bytes())
    assert [credit.amount for credit in result.credits] == ["3.68", "1.00"]
    assert result.credits[-1].remittance_info == (
        "0111111111 Hr S Marechal\nROSMALEN Hr S Marechal ROSMALEN\n"
        "Betaling transactiedatum: 22-07-2010"
    )
    assert [credit.value_date for credit in result.credits] == ["2010-07-22", "2010-07-23"]


def test_rabobank_iban_account_and_customer_reference_reach_the_credit() -> None:
    data = (bank_dir() / "rabobank-iban.sta").read_bytes().replace(b":61:130101D", b":61:130101C")
    result = parse_statement(data)
    (credit,) = result.credits
    assert credit.amount == "000000000025.00"  # as written; the importer reads it as 25.00
    assert credit.account_iban == "NL71RABO0123456789"
    assert credit.bank_transaction_id == "mt940:NL71RABO0123456789:cust:EREF:2013-01-01:25:EUR"
    assert credit.remittance_info == (
        "/EREF/01-01-2013 12:00 0030000987654321/BENM//NAME/CONTRA ACCOUN\n"
        "T HOLDER/REMI//ISDT/2013-07-11"
    )

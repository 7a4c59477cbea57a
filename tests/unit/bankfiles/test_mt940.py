"""MT940 statement lines become the right credits: marks, amounts, details, references.

Method: write small MT940 statements by hand, one rule at a time, parse them, and compare the
credits with what the SWIFT field layout says they must be.
"""

from __future__ import annotations

import pytest

from zeropools.bankfiles import StatementError, parse_statement

_ACCOUNT = "DE89370400440532013000"


def _statement(*lines: str, account: str = _ACCOUNT, opening: str = "C240501EUR0,00") -> bytes:
    text = "\n".join(
        [
            ":20:STARTUMS",
            f":25:{account}",
            ":28C:00042/001",
            f":60F:{opening}",
            *lines,
            ":62F:C240502EUR1000,00",
            "-",
        ]
    )
    return (text + "\n").encode("utf-8")


def test_only_plain_credit_marks_become_credits() -> None:
    data = _statement(
        ":61:2405020502C10,00NTRFNONREF//C1",
        ":61:2405020502D20,00NTRFNONREF//D1",
        ":61:2405020502RC30,00NTRFNONREF//RC1",  # reversal of a credit: money leaves
        ":61:2405020502RD40,00NTRFNONREF//RD1",  # reversal of a debit: a correction, no pay-in
        ":61:2405020502c50,00NTRFNONREF//C2",  # lowercase marks happen
    )
    result = parse_statement(data)
    assert (result.entries, result.ignored_debits) == (5, 3)
    assert [credit.amount for credit in result.credits] == ["10.00", "50.00"]


def test_a_funds_code_after_the_mark_is_not_mistaken_for_a_reversal() -> None:
    # "CR" is a credit with funds code R (third letter of EUR); "RCR" a reversed credit.
    result = parse_statement(
        _statement(":61:2405020502CR10,00NTRFNONREF", ":61:2405020502RCR10,00NTRFNONREF")
    )
    assert ([c.amount for c in result.credits], result.ignored_debits) == (["10.00"], 1)


@pytest.mark.parametrize(
    ("written", "expected"),
    [("1234,", "1234"), ("0,5", "0.5"), ("8,850", "8.850"), ("000100,10", "000100.10")],
)
def test_mt940_amounts_keep_their_digits_with_a_decimal_point(written: str, expected: str) -> None:
    (credit,) = parse_statement(_statement(f":61:2405020502C{written}NTRFNONREF//X")).credits
    assert credit.amount == expected


def test_dates_are_value_date_and_entry_date_with_the_year_carried_over() -> None:
    result = parse_statement(
        _statement(":61:2312310102C1,00NTRFNONREF//A", ":61:240502C2,00NTRFNONREF//B")
    )
    first, second = result.credits
    assert (first.value_date, first.booking_date) == ("2023-12-31", "2024-01-02")
    assert (second.value_date, second.booking_date) == ("2024-05-02", None)


def test_references_make_the_id_and_nonref_is_ignored() -> None:
    result = parse_statement(
        _statement(
            ":61:2405020502C1,00NTRFCUST1//BANK1",
            ":61:2405020502C1,00NTRFCUST2",
            ":61:2405020502C1,00NTRFNONREF",
        )
    )
    ids = [credit.bank_transaction_id for credit in result.credits]
    assert ids[0] == f"mt940:{_ACCOUNT}:bank:BANK1:2024-05-02:1:EUR"
    assert ids[1] == f"mt940:{_ACCOUNT}:cust:CUST2:2024-05-02:1:EUR"
    assert ids[2].startswith("mt940-derived:")


def test_identical_lines_without_references_get_different_stable_ids() -> None:
    line = ":61:2405020502C1,00NTRFNONREF"
    data = _statement(line, ":86:same", line, ":86:same")
    first, second = parse_statement(data), parse_statement(data)
    ids = [credit.bank_transaction_id for credit in first.credits]
    assert len(set(ids)) == 2
    assert ids == [credit.bank_transaction_id for credit in second.credits]


def test_identical_lines_with_the_same_reference_get_a_counter() -> None:
    line = ":61:2405020502C1,00NTRFNONREF//SAME"
    ids = [c.bank_transaction_id for c in parse_statement(_statement(line, line)).credits]
    assert ids == [
        f"mt940:{_ACCOUNT}:bank:SAME:2024-05-02:1:EUR",
        f"mt940:{_ACCOUNT}:bank:SAME:2024-05-02:1:EUR~2",
    ]


def test_a_structured_86_gives_debtor_end_to_end_id_and_the_whole_purpose() -> None:
    data = _statement(
        ":61:2405020502CR100,00NTRFNONREF//B1",
        ":86:166?00GUTSCHR. UEBERWEISUNG?109310?20EREF+E2E-77?21SVWZ+Invoice RF18 5390 075"
        "\n4 7034 thank you?22 very much?30COBADEFFXXX?31DE44500105175407324931?32ACME Tr"
        "\nading?33 GmbH?34997",
    )
    (credit,) = parse_statement(data).credits
    assert credit.debtor_name == "ACME Trading GmbH"
    assert credit.debtor_iban == "DE44500105175407324931"
    assert credit.end_to_end_id == "E2E-77"
    assert credit.remittance_info == (
        "EREF+E2E-77\nSVWZ+Invoice RF18 5390 0754 7034 thank you very much"
    )


def test_a_free_text_86_is_kept_whole_with_its_lines() -> None:
    data = _statement(
        ":61:2405020502C5,00NTRFNONREF",
        ":86:/EREF/X1/ORDP//NAME/JANE DOE/REMI/USTD//RF18539007547034 INVOICE 42",
        "/ISDT/2024-05-02",
    )
    (credit,) = parse_statement(data).credits
    assert credit.remittance_info == (
        "/EREF/X1/ORDP//NAME/JANE DOE/REMI/USTD//RF18539007547034 INVOICE 42\n/ISDT/2024-05-02"
    )
    assert (credit.debtor_name, credit.debtor_iban) == (None, None)


def test_a_long_86_is_not_cut_after_nine_chunks() -> None:
    # No spaces: the library drops white space at line ends, which a test of length should not see.
    words = "".join(f"word{n:03d}," for n in range(120))
    chunks = [words[i : i + 65] for i in range(0, len(words), 65)]
    data = _statement(":61:2405020502C5,00NTRFNONREF", ":86:" + chunks[0], *chunks[1:])
    (credit,) = parse_statement(data).credits
    assert credit.remittance_info is not None
    assert credit.remittance_info.replace("\n", "") == words


def test_the_account_iban_is_found_in_the_25_field_forms_banks_use() -> None:
    for account in (_ACCOUNT, f"{_ACCOUNT}EUR", f"COBADEFFXXX/{_ACCOUNT}"):
        (credit,) = parse_statement(
            _statement(":61:2405020502C1,00NTRFNONREF", account=account)
        ).credits
        assert credit.account_iban == _ACCOUNT
    (credit,) = parse_statement(
        _statement(":61:2405020502C1,00NTRFNONREF", account="37040044/0532013000")
    ).credits
    assert credit.account_iban is None


def test_several_statements_in_one_file_are_all_read() -> None:
    one = _statement(":61:2405020502C1,00NTRFNONREF//A")
    two = _statement(":61:2405030503C2,00NTRFNONREF//B", account="NL91ABNA0417164300")
    result = parse_statement(one + two)
    assert [(c.amount, c.account_iban) for c in result.credits] == [
        ("1.00", _ACCOUNT),
        ("2.00", "NL91ABNA0417164300"),
    ]


def test_a_statement_line_that_cannot_be_read_is_refused_with_its_statement() -> None:
    with pytest.raises(StatementError, match="MT940 statement 1 cannot be read"):
        parse_statement(_statement(":61:24XX0502C1,00NTRFNONREF"))


def test_a_statement_without_an_opening_balance_has_no_currency_and_is_refused() -> None:
    text = _statement(":61:2405020502C1,00NTRFNONREF").replace(b":60F:C240501EUR0,00\n", b"")
    text = text.replace(b":62F:C240502EUR1000,00\n", b"")
    with pytest.raises(StatementError, match="no currency"):
        parse_statement(text)

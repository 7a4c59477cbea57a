"""camt entries become the right credits: direction, status, batches, fields, amounts, volume.

Method: write camt.053/camt.054 files with ``generate.py`` (one list of entries renders in any
schema version), parse them, and check each rule of ``zeropools.bankfiles.camt`` on the
result. Hypothesis writes amounts and entry lists the examples would not think of.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support import sized
from zeropools.bankfiles import StatementError, parse_statement

from .generate import ACCOUNT_IBAN, DEBTOR_IBAN, Detail, Entry, camt053, camt054, many_credits

_VERSIONS = ["001.02", "001.04", "001.05", "001.06", "001.08", "001.10"]


def _one(entry: Entry, version: str = "001.08") -> dict[str, object]:
    (credit,) = parse_statement(camt053([entry], version=version)).credits
    return credit.__dict__


@pytest.mark.parametrize("version", _VERSIONS)
def test_every_field_of_a_plain_credit_is_read_in_every_version(version: str) -> None:
    entry = Entry(
        amount="1250.50",
        servicer_ref="BANK-REF-1",
        details=(
            Detail(
                end_to_end_id="E2E-1",
                reference="RF18539007547034",
                unstructured=("Invoice 42", "second line"),
                debtor_name="ACME GmbH",
                debtor_iban=DEBTOR_IBAN,
            ),
        ),
    )
    assert _one(entry, version) == {
        "bank_transaction_id": f"camt:{ACCOUNT_IBAN}:asr:BANK-REF-1",
        "amount": "1250.50",
        "currency": "EUR",
        "booking_status": "booked",
        "reference": "RF18539007547034",
        "remittance_info": "Invoice 42\nsecond line",
        "debtor_name": "ACME GmbH",
        "debtor_iban": DEBTOR_IBAN,
        "value_date": "2024-05-03",
        "booking_date": "2024-05-02",
        "end_to_end_id": "E2E-1",
        "uetr": None,
        "account_iban": ACCOUNT_IBAN,
    }


def test_debits_and_reversals_are_counted_but_not_returned() -> None:
    entries = [
        Entry(amount="1.00"),
        Entry(amount="2.00", credit=False),
        Entry(amount="3.00", reversal=True),  # reversal of a debit: money back, not a pay-in
        Entry(amount="4.00", credit=False, reversal=True),
    ]
    result = parse_statement(camt053(entries))
    assert (result.entries, result.ignored_debits) == (4, 3)
    assert [credit.amount for credit in result.credits] == ["1.00"]


@pytest.mark.parametrize("version", ["001.02", "001.05", "001.06", "001.08"])
@pytest.mark.parametrize(
    ("status", "expected"),
    [("BOOK", "booked"), ("PDNG", "pending"), ("INFO", "pending"), (None, "booked")],
)
def test_booking_status_follows_sts_in_both_layouts(
    version: str, status: str | None, expected: str
) -> None:
    entry = Entry(status=status)
    for generate in (camt053, camt054):
        (credit,) = parse_statement(generate([entry], version=version)).credits
        assert credit.booking_status == expected


def test_a_date_time_booking_date_gives_the_day_as_the_bank_wrote_it() -> None:
    data = camt053([Entry(booking_date=None)]).replace(
        b"<ValDt>", b"<BookgDt><DtTm>2024-05-02T23:30:00+02:00</DtTm></BookgDt><ValDt>"
    )
    (credit,) = parse_statement(data).credits
    assert credit.booking_date == "2024-05-02"


@pytest.mark.parametrize("version", _VERSIONS)
def test_a_batch_whose_details_carry_their_amounts_becomes_one_credit_each(version: str) -> None:
    details = tuple(
        Detail(amount=amount, end_to_end_id=f"E2E-{n}", unstructured=(f"pay {n}",))
        for n, amount in enumerate(["10.00", "20.50", "0.50"])
    )
    result = parse_statement(camt053([Entry(amount="31.00", details=details)], version=version))
    assert (result.entries, result.ignored_debits) == (1, 0)
    assert [(c.amount, c.end_to_end_id, c.remittance_info) for c in result.credits] == [
        ("10.00", "E2E-0", "pay 0"),
        ("20.50", "E2E-1", "pay 1"),
        ("0.50", "E2E-2", "pay 2"),
    ]
    ids = [credit.bank_transaction_id for credit in result.credits]
    assert len(set(ids)) == 3
    assert ids[0] == f"camt:{ACCOUNT_IBAN}:e2e:E2E-0:2024-05-03:10:EUR"


def test_split_credits_that_share_the_entry_reference_get_the_detail_index() -> None:
    details = tuple(Detail(amount="5.00") for _ in range(3))
    entry = Entry(amount="15.00", servicer_ref="BATCH-7", details=details)
    ids = [c.bank_transaction_id for c in parse_statement(camt053([entry])).credits]
    assert ids == [f"camt:{ACCOUNT_IBAN}:asr:BATCH-7#{n}" for n in range(3)]


def test_a_batch_without_detail_amounts_is_one_credit_with_all_remittance_lines() -> None:
    details = (
        Detail(end_to_end_id="A", debtor_name="First", reference="RF1", unstructured=("one",)),
        Detail(end_to_end_id="B", debtor_name="Second", unstructured=("two", "three")),
    )
    entry = Entry(amount="9.99", entry_ref="NTRY-1", details=details)
    (credit,) = parse_statement(camt053([entry])).credits
    assert (credit.amount, credit.end_to_end_id, credit.debtor_name, credit.reference) == (
        "9.99",
        "A",
        "First",
        "RF1",
    )
    assert credit.remittance_info == "one\ntwo\nthree"
    # Several transactions kept together: the id names the entry, not its first transaction.
    assert credit.bank_transaction_id == f"camt:{ACCOUNT_IBAN}:ntry:NTRY-1:2024-05-03:9.99:EUR"


@pytest.mark.parametrize(
    "amounts",
    [("10.00", "19.99"), ("10.00", None), ("15.00", "15.01")],
    ids=["too-little", "one-missing", "too-much"],
)
def test_a_batch_whose_detail_amounts_do_not_add_up_stays_one_credit(
    amounts: tuple[str | None, ...],
) -> None:
    details = tuple(Detail(amount=amount) for amount in amounts)
    result = parse_statement(camt053([Entry(amount="30.00", details=details)]))
    assert [credit.amount for credit in result.credits] == ["30.00"]


def test_a_batch_with_details_in_another_currency_stays_one_credit() -> None:
    details = (Detail(amount="10.00", currency="CHF"), Detail(amount="20.00", currency="CHF"))
    result = parse_statement(camt053([Entry(amount="30.00", details=details)]))
    assert [(c.amount, c.currency) for c in result.credits] == [("30.00", "EUR")]


def test_an_entry_without_details_is_one_credit_without_counterparty() -> None:
    credit = _one(Entry(amount="7.00", details=()))
    assert (credit["amount"], credit["debtor_name"], credit["remittance_info"]) == (
        "7.00",
        None,
        None,
    )
    assert str(credit["bank_transaction_id"]).startswith("camt-derived:")


def test_notprovided_end_to_end_ids_are_treated_as_absent() -> None:
    credit = _one(Entry(details=(Detail(end_to_end_id="NOTPROVIDED"),)))
    assert credit["end_to_end_id"] is None
    assert str(credit["bank_transaction_id"]).startswith("camt-derived:")


def test_an_iban_given_as_other_account_id_is_the_account_iban() -> None:
    data = camt053([Entry()], account_iban=None, account_other_id=ACCOUNT_IBAN)
    (credit,) = parse_statement(data).credits
    assert credit.account_iban == ACCOUNT_IBAN


def test_an_account_number_is_used_for_ids_but_is_not_an_iban() -> None:
    data = camt053([Entry(servicer_ref="R1")], account_iban=None, account_other_id="0532013000")
    (credit,) = parse_statement(data).credits
    assert credit.account_iban is None
    assert credit.bank_transaction_id == "camt:0532013000:asr:R1"


@pytest.mark.parametrize(
    ("written", "expected"),
    [("8.850", "8.850"), ("0.00001", "0.00001"), ("+12.50", "12.50"), (" 3 ", "3"), ("5.", "5")],
)
def test_camt_amounts_keep_their_decimals_as_written(written: str, expected: str) -> None:
    assert _one(Entry(amount=written))["amount"] == expected


@pytest.mark.parametrize(
    "written",
    ["-1.00", "12,50", "1e3", "", "NaN", "١٢", "1" * 19, "9" * 5000],
    ids=lambda written: repr(written[:20]),
)
def test_a_camt_amount_that_is_not_a_plain_decimal_is_refused(written: str) -> None:
    with pytest.raises(StatementError, match="Stmt STMT-2024-05-02, entry 1: amount"):
        parse_statement(camt053([Entry(amount=written)]))


def test_an_entry_without_a_direction_is_refused() -> None:
    data = camt053([Entry()]).replace(b"<CdtDbtInd>CRDT</CdtDbtInd>", b"")
    with pytest.raises(StatementError, match="CdtDbtInd"):
        parse_statement(data)


def test_an_impossible_booking_date_is_refused() -> None:
    with pytest.raises(StatementError, match="not an ISO date"):
        parse_statement(camt053([Entry(booking_date="2024-02-30")]))


def test_ten_thousand_entries_give_ten_thousand_credits() -> None:
    result = parse_statement(camt053(many_credits(10_000)))
    assert (result.entries, len(result.credits), result.ignored_debits) == (10_000, 10_000, 0)
    assert len({credit.bank_transaction_id for credit in result.credits}) == 10_000
    assert result.credits[-1].amount == "10000.99"


@pytest.mark.soak
@settings(max_examples=sized(100, 2000), deadline=None)
@given(st.from_regex(r"[0-9]{1,13}(\.[0-9]{1,5})?", fullmatch=True), st.sampled_from(_VERSIONS))
def test_any_decimal_amount_comes_back_exactly_as_written(amount: str, version: str) -> None:
    assert _one(Entry(amount=amount), version)["amount"] == amount


_entries = st.lists(
    st.builds(
        Entry,
        amount=st.sampled_from(["1.00", "2.50"]),
        credit=st.booleans(),
        servicer_ref=st.sampled_from([None, "R1"]),
        details=st.sampled_from(
            [(), (Detail(end_to_end_id="E1"),), (Detail(amount="1.00"), Detail(amount="1.50"))]
        ),
    ),
    max_size=12,
)


@pytest.mark.soak
@settings(max_examples=sized(50, 1000), deadline=None)
@given(_entries)
def test_any_entry_list_gives_unique_stable_ids_and_consistent_counts(entries: list[Entry]) -> None:
    data = camt053(entries)
    first, second = parse_statement(data), parse_statement(data)
    ids = [credit.bank_transaction_id for credit in first.credits]
    assert ids == [credit.bank_transaction_id for credit in second.credits]
    assert len(set(ids)) == len(ids)
    assert first.entries == len(entries)
    assert first.ignored_debits == sum(not entry.credit for entry in entries)

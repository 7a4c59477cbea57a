"""Whatever bytes arrive, ``parse_statement`` returns a result or raises ``StatementError``.

Method: Hypothesis feeds random bytes, MT940 field soup (real tags in random order with random
values), and real camt samples cut or spliced at random places. Any other exception (the mt-940
library's RuntimeError or KeyError, a decimal error, an IndexError...) fails the test, because
the importer only knows how to report ``StatementError`` to the user.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import sized
from zeropools.bankfiles import StatementError, StatementParse, parse_statement

from .generate import Detail, Entry, camt053

_TAGS = [":20:", ":25:", ":28C:", ":60F:", ":60M:", ":61:", ":86:", ":62F:", ":64:", ":NS:", ":"]
_VALUES = [
    "STARTUMS",
    "DE89370400440532013000",
    "00001/001",
    "C240501EUR0,00",
    "D240501EUR12,",
    "2405020502C10,00NTRFNONREF//B1",
    "2405020502RD1,NMSCNONREF",
    "240502C,5NTRF",
    "166?00GUTSCHRIFT?20SVWZ+RF18?31DE89370400440532013000?32A",
    "?20?2",
    "999",
    "",
    "-",
]


def _check(data: bytes) -> None:
    try:
        result = parse_statement(data)
    except StatementError as error:
        assert str(error)
        return
    assert isinstance(result, StatementParse)
    assert result.entries >= result.ignored_debits
    for credit in result.credits:
        assert credit.bank_transaction_id and credit.currency and credit.amount


@pytest.mark.soak
@settings(max_examples=sized(150, 3000), deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_give_a_result_or_a_statement_error(data: bytes) -> None:
    _check(data)


@pytest.mark.soak
@settings(max_examples=sized(150, 3000), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_TAGS), st.sampled_from(_VALUES) | st.text(max_size=40)),
        max_size=25,
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_mt940_field_soup_gives_a_result_or_a_statement_error(
    fields: list[tuple[str, str]], newline: str
) -> None:
    _check(newline.join(tag + value for tag, value in fields).encode("utf-8", "surrogatepass"))


_CAMT = camt053(
    [
        Entry(amount="10.00", details=(Detail(end_to_end_id="E1", unstructured=("x",)),)),
        Entry(amount="3.00", details=(Detail(amount="1.00"), Detail(amount="2.00"))),
        Entry(credit=False),
    ]
)


@pytest.mark.soak
@settings(
    max_examples=sized(150, 3000), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.integers(0, len(_CAMT)), st.integers(0, len(_CAMT)), st.binary(max_size=20))
def test_a_camt_file_cut_or_spliced_anywhere_gives_a_result_or_a_statement_error(
    start: int, end: int, insert: bytes
) -> None:
    _check(_CAMT[:start] + insert + _CAMT[max(start, end) :])

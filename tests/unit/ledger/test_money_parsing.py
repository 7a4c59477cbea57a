"""Money parsing and formatting at the edges (API.md "Money").

Goal: every way a partner's bug could move the wrong amount is refused with the right typed
error (and its stable ``code``), the accepted spellings give exactly the minor units meant, and
formatting is the exact inverse of parsing for every scale a deployment may configure.

Method: tables of accepted and refused inputs against ``parse_amount`` with EUR's scale (2) and
the per-option switches; ``format_amount`` checked on EUR/JPY/USDT and negatives; a hypothesis
property round-trips ``format -> parse`` over every scale 0..8 and the whole accepted range.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support import sized
from zeropools.domain import limits
from zeropools.domain.errors import (
    AmountInvalid,
    AmountOutOfRange,
    AmountPrecisionExceeded,
    CurrencyNotEnabled,
    DomainError,
)
from zeropools.domain.money import Currencies, format_amount, parse_amount

EUR_SCALE = 2


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("100", 10_000),
        ("100.5", 10_050),
        ("100.50", 10_050),
        ("0.01", 1),
        ("1000.00", 100_000),
        ("0100.00", 10_000),  # leading zeros are still one unambiguous number
    ],
)
def test_plain_decimal_strings_parse_to_exact_minor_units(text: str, minor: int) -> None:
    assert parse_amount(text, EUR_SCALE) == minor


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (100, AmountInvalid),  # a JSON number, not a string
        (100.5, AmountInvalid),
        (True, AmountInvalid),
        (None, AmountInvalid),
        ("1e2", AmountInvalid),
        ("1E2", AmountInvalid),
        ("NaN", AmountInvalid),
        ("nan", AmountInvalid),
        ("Infinity", AmountInvalid),
        ("inf", AmountInvalid),
        ("+100", AmountInvalid),
        ("-100", AmountInvalid),
        ("12,50", AmountInvalid),
        ("1_000", AmountInvalid),
        (" 100", AmountInvalid),
        ("100 ", AmountInvalid),
        ("100\n", AmountInvalid),
        ("", AmountInvalid),
        (".5", AmountInvalid),
        ("5.", AmountInvalid),
        ("0x10", AmountInvalid),
        ("\u0661\u0660\u0660", AmountInvalid),  # Arabic-Indic "100": int() would accept it
        ("\uff11\uff10\uff10", AmountInvalid),  # full-width "100"
        ("0.00", AmountInvalid),
        ("0", AmountInvalid),
        ("100.505", AmountPrecisionExceeded),
        ("100.500", AmountPrecisionExceeded),
        ("10000000000000.01", AmountOutOfRange),
    ],
)
def test_refused_amounts_raise_the_matching_typed_error(
    value: object, error: type[DomainError]
) -> None:
    with pytest.raises(error) as caught:
        parse_amount(value, EUR_SCALE)
    assert type(caught.value) is error
    assert caught.value.code == error.code
    assert caught.value.detail  # always a human explanation


def test_error_codes_are_the_stable_names_from_the_api_contract() -> None:
    assert AmountInvalid.code == "amount_invalid"
    assert AmountPrecisionExceeded.code == "amount_precision_exceeded"
    assert AmountOutOfRange.code == "amount_out_of_range"
    assert CurrencyNotEnabled.code == "currency_not_enabled"


def test_a_negative_amount_is_accepted_only_when_allowed() -> None:
    assert parse_amount("-100", EUR_SCALE, allow_negative=True) == -10_000
    assert parse_amount("-0.05", EUR_SCALE, allow_negative=True) == -5
    assert parse_amount("100", EUR_SCALE, allow_negative=True) == 10_000
    with pytest.raises(AmountInvalid):
        parse_amount("+100", EUR_SCALE, allow_negative=True)
    with pytest.raises(AmountInvalid):
        parse_amount("--1", EUR_SCALE, allow_negative=True)


def test_zero_is_accepted_only_when_allowed() -> None:
    assert parse_amount("0.00", EUR_SCALE, allow_zero=True) == 0
    assert parse_amount("0", EUR_SCALE, allow_zero=True) == 0


def test_trailing_zeros_beyond_the_scale_are_accepted_only_for_bank_files() -> None:
    assert parse_amount("100.500", EUR_SCALE, allow_trailing_zeros=True) == 10_050
    assert parse_amount("8.850", EUR_SCALE, allow_trailing_zeros=True) == 885
    with pytest.raises(AmountPrecisionExceeded):
        parse_amount("100.505", EUR_SCALE, allow_trailing_zeros=True)


def test_the_largest_accepted_amount_is_amount_minor_max() -> None:
    largest = format_amount(limits.AMOUNT_MINOR_MAX, EUR_SCALE)
    assert parse_amount(largest, EUR_SCALE) == limits.AMOUNT_MINOR_MAX
    with pytest.raises(AmountOutOfRange):
        parse_amount(format_amount(limits.AMOUNT_MINOR_MAX + 1, EUR_SCALE), EUR_SCALE)
    with pytest.raises(AmountOutOfRange):
        too_small = format_amount(-limits.AMOUNT_MINOR_MAX - 1, EUR_SCALE)
        parse_amount(too_small, EUR_SCALE, allow_negative=True)


@pytest.mark.parametrize(
    "text",
    [
        "9" * 5000,  # beyond Python's int() digit limit: must not escape as ValueError
        "0" * 5000 + "1",
    ],
)
def test_an_absurdly_long_digit_string_is_refused_as_a_domain_error_not_a_crash(text: str) -> None:
    # A 1 MiB request body easily carries a 5000-digit "amount"; anything but a DomainError
    # becomes a 500 instead of the 422 API.md promises.
    with pytest.raises(DomainError):
        parse_amount(text, EUR_SCALE)


def test_error_details_carry_the_refused_value() -> None:
    with pytest.raises(AmountPrecisionExceeded) as caught:
        parse_amount("1.234", EUR_SCALE)
    assert caught.value.extra == {"value": "1.234", "scale": 2}
    with pytest.raises(AmountInvalid) as invalid:
        parse_amount(100, EUR_SCALE)
    assert "JSON number" in invalid.value.detail


def test_currencies_parse_with_the_currency_scale_and_refuse_unknown_codes() -> None:
    currencies = Currencies()
    assert currencies.parse("100", "JPY") == 100
    assert currencies.parse("107.42", "USDT") == 107_420_000
    with pytest.raises(AmountPrecisionExceeded):
        currencies.parse("100.5", "JPY")
    for code in ("XXX", "eur", "", None, 978):
        with pytest.raises(CurrencyNotEnabled):
            currencies.parse("1", code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (100_000, "EUR", "1000.00"),
        (5, "EUR", "0.05"),
        (0, "EUR", "0.00"),
        (-10_000, "EUR", "-100.00"),
        (-5, "EUR", "-0.05"),
        (1500, "JPY", "1500"),
        (-1500, "JPY", "-1500"),
        (107_420_000, "USDT", "107.420000"),
        (1, "USDT", "0.000001"),
        (-1, "USDT", "-0.000001"),
    ],
)
def test_format_writes_exactly_the_currency_scale(minor: int, currency: str, text: str) -> None:
    assert Currencies().format(minor, currency) == text


@pytest.mark.soak
@settings(max_examples=sized(150, 3000), database=None)
@given(
    scale=st.integers(min_value=0, max_value=8),
    minor=st.integers(min_value=-limits.AMOUNT_MINOR_MAX, max_value=limits.AMOUNT_MINOR_MAX),
)
def test_format_then_parse_gives_back_the_same_integer_for_every_scale(
    scale: int, minor: int
) -> None:
    text = format_amount(minor, scale)
    assert text.count(".") == (1 if scale else 0)
    if scale:
        assert len(text.partition(".")[2]) == scale
    assert parse_amount(text, scale, allow_negative=True, allow_zero=True) == minor
    if minor > 0:
        assert parse_amount(text, scale) == minor

"""Pools: demo defaults, the pools file, rates and per-pool amount rules.

Goal: a deployment can only start with pools that are well formed, exact and quotable, and a
mistake in the pools file is refused with a message that names the entry and the field; at
quote time a disabled pool or an amount outside the limits is refused with the limits attached.

Method: one good file parsed field by field, then one bad file per kind of mistake (each must
raise ``ValueError`` whose message says what is wrong); amount checks at and around the limits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import pytest

from zeropools.domain.errors import AmountOutOfRange, PoolDisabled
from zeropools.domain.money import Currencies
from zeropools.domain.pools import (
    Pool,
    StaticRates,
    check_pool_amount,
    default_pools,
    parse_pools_config,
    parse_rate,
)

CURRENCIES = Currencies()
NOW = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)


def entry(**changes: Any) -> dict[str, Any]:
    good: dict[str, Any] = {
        "id": "EUR-USDT",
        "source_currency": "EUR",
        "target_asset": "USDT",
        "min_amount": "10.00",
        "max_amount": "1000000",
        "fee_bps": 50,
        "enabled": True,
        "rate": "1.0850",
    }
    good.update(changes)
    return {key: value for key, value in good.items() if value is not DROP}


DROP = object()


def with_raw(field: str, raw: str) -> str:
    """A one-entry file whose ``field`` holds ``raw`` JSON text verbatim (numbers, NaN)."""
    return json.dumps([entry(**{field: "__RAW__"})]).replace('"__RAW__"', raw)


def test_demo_defaults_offer_three_enabled_pools_with_exact_rates() -> None:
    config = default_pools()
    assert [pool.id for pool in config.pools] == ["EUR-USDT", "EUR-USDC", "USD-USDT"]
    for pool in config.pools:
        assert pool.enabled and pool.fee_bps == 50 and pool.rate_source == "static"
        assert (pool.min_amount_minor, pool.max_amount_minor) == (10_00, 1_000_000_00)
    eur_usdt = config.pool("EUR-USDT")
    assert eur_usdt is not None
    rate = config.rates.rate(eur_usdt, NOW)
    assert (rate.text, rate.value) == ("1.0850", Fraction(217, 200))
    assert config.pool("BTC-USDT") is None


def test_a_good_pools_file_parses_every_field() -> None:
    text = json.dumps(
        [
            entry(),
            entry(
                id="USD-USDC",
                source_currency="USD",
                target_asset="USDC",
                min_amount="0.5",
                max_amount="250000.00",
                fee_bps=0,
                enabled=False,
                rate="0.99875",
            ),
        ]
    )
    config = parse_pools_config(text)
    assert config.pools == (
        Pool("EUR-USDT", "EUR", "USDT", 10_00, 1_000_000_00, fee_bps=50, enabled=True),
        Pool("USD-USDC", "USD", "USDC", 50, 250_000_00, fee_bps=0, enabled=False),
    )
    usd_usdc = config.pools[1]
    assert config.rates.rate(usd_usdc, NOW).value == Fraction("0.99875")


def test_a_pools_file_may_use_a_deployments_own_currencies() -> None:
    currencies = Currencies({"JPY": 0, "USDT": 6})
    text = json.dumps(
        [
            entry(
                id="JPY-USDT",
                source_currency="JPY",
                min_amount="1000",
                max_amount="5000000",
                rate="0.0067",
            )
        ]
    )
    (pool,) = parse_pools_config(text, currencies).pools
    assert (pool.min_amount_minor, pool.max_amount_minor) == (1000, 5_000_000)


BAD_FILES: list[tuple[str, str, str]] = [
    ("not json", "[{", "not valid JSON"),
    ("an object, not a list", json.dumps(entry()), "JSON list"),
    ("an empty list", "[]", "defines no pools"),
    ("a list of strings", '["EUR-USDT"]', "entry 0 must be an object"),
    ("a missing field", json.dumps([entry(rate=DROP)]), "missing field(s) rate"),
    (
        "a typo in a field name",
        json.dumps([{**entry(), "enabeld": False}]),
        "unknown field(s) enabeld",
    ),
    (
        "a key given twice",
        '[{"id": "EUR-USDT", "id": "EUR-USDC"}]',
        "repeats the key 'id'",
    ),
    ("a pool given twice", json.dumps([entry(), entry()]), "'EUR-USDT' is defined twice"),
    ("an unknown currency", json.dumps([entry(id="XYZ-USDT", source_currency="XYZ")]), "'XYZ'"),
    ("an unknown asset", json.dumps([entry(id="EUR-DOGE", target_asset="DOGE")]), "'DOGE'"),
    ("a pair of one currency", json.dumps([entry(id="EUR-EUR", target_asset="EUR")]), "both"),
    ("an id that is not the pair", json.dumps([entry(id="EURUSDT")]), "'EUR-USDT'"),
    ("money as a JSON number", json.dumps([entry(min_amount=10)]), "min_amount must be a decimal"),
    ("money as a JSON fraction", with_raw("min_amount", "10.5"), "min_amount must be a decimal"),
    ("money with too many decimals", json.dumps([entry(max_amount="100.001")]), "3 decimals"),
    ("money that is not a number", json.dumps([entry(min_amount="ten")]), "min_amount"),
    ("a zero minimum", json.dumps([entry(min_amount="0")]), "min_amount"),
    ("minimum above maximum", json.dumps([entry(min_amount="500", max_amount="100")]), "above"),
    ("a fee as a string", json.dumps([entry(fee_bps="50")]), "fee_bps must be a whole number"),
    ("a fee as a boolean", json.dumps([entry(fee_bps=True)]), "fee_bps must be a whole number"),
    ("a fee as a float", with_raw("fee_bps", "0.5"), "fee_bps must be a whole number"),
    ("a negative fee", json.dumps([entry(fee_bps=-1)]), "from 0 to 9999"),
    ("a fee of everything", json.dumps([entry(fee_bps=10_000)]), "from 0 to 9999"),
    ("enabled as a string", json.dumps([entry(enabled="yes")]), "enabled must be true or false"),
    ("a rate as a JSON number", with_raw("rate", "1.085"), "not a JSON number"),
    ("a zero rate", json.dumps([entry(rate="0.000")]), "above zero"),
    ("a negative rate", json.dumps([entry(rate="-1.08")]), "plain decimal"),
    ("a rate with an exponent", json.dumps([entry(rate="1e3")]), "plain decimal"),
    ("a rate with too many decimals", json.dumps([entry(rate="1.0000000000001")]), "13 decimals"),
    ("NaN", with_raw("fee_bps", "NaN"), "NaN"),
    ("a maximum priced beyond the ceiling", json.dumps([entry(rate="100000000")]), "largest"),
]


@pytest.mark.parametrize(
    ("text", "message"),
    [(text, message) for _, text, message in BAD_FILES],
    ids=[name for name, _, _ in BAD_FILES],
)
def test_each_kind_of_bad_pools_file_is_refused_with_a_message_saying_why(
    text: str, message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        parse_pools_config(text)
    assert message in str(refused.value)


def test_errors_in_an_entry_name_the_entry_and_its_id() -> None:
    with pytest.raises(ValueError, match=r"entry 1 \('EUR-USDC'\): fee_bps"):
        parse_pools_config(
            json.dumps([entry(), entry(id="EUR-USDC", target_asset="USDC", fee_bps=-5)])
        )


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", Fraction(1)), ("1.0850", Fraction(217, 200)), ("0.000000000001", Fraction(1, 10**12))],
)
def test_rates_are_exact_rationals_of_their_decimal_strings(text: str, value: Fraction) -> None:
    rate = parse_rate(text)
    assert (rate.text, rate.value) == (text, value)


@pytest.mark.parametrize("text", ["", ".5", "1.", "01.5", " 1.5", "1,5", "+1", "1/3", "inf", "NaN"])
def test_anything_but_a_plain_decimal_is_not_a_rate(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


def test_static_rates_refuse_a_bad_rate_naming_the_pool() -> None:
    with pytest.raises(ValueError, match="'EUR-USDT'"):
        StaticRates({"EUR-USDT": "1,0850"})


def test_amounts_at_the_pool_limits_are_accepted() -> None:
    pool = default_pools().pools[0]
    check_pool_amount(pool, pool.min_amount_minor, CURRENCIES)
    check_pool_amount(pool, pool.max_amount_minor, CURRENCIES)


@pytest.mark.parametrize("amount_minor", [9_99, 1_000_000_01])
def test_amounts_outside_the_pool_limits_are_refused_with_the_limits(amount_minor: int) -> None:
    pool = default_pools().pools[0]
    with pytest.raises(AmountOutOfRange) as refused:
        check_pool_amount(pool, amount_minor, CURRENCIES)
    assert refused.value.code == "amount_out_of_range"
    assert refused.value.extra == {
        "pool_id": "EUR-USDT",
        "currency": "EUR",
        "amount": CURRENCIES.format(amount_minor, "EUR"),
        "min_amount": "10.00",
        "max_amount": "1000000.00",
    }


def test_a_disabled_pool_is_refused_before_its_limits_are_checked() -> None:
    pool = parse_pools_config(json.dumps([entry(enabled=False)])).pools[0]
    with pytest.raises(PoolDisabled) as refused:
        check_pool_amount(pool, 1, CURRENCIES)
    assert refused.value.extra == {"pool_id": "EUR-USDT"}

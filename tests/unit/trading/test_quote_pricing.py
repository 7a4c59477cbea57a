"""Quote pricing, expiry and executability.

Goal: a quote charges at least the exact fee and delivers at most the exact target amount, each
off by less than one minor unit; it is firm strictly before ``expires_at``; only its own partner
can execute it, once.

Method: examples worked out by hand (including ones that round the fee up and the target down),
hypothesis over amounts, fees, rates and scales compared against exact ``Fraction`` arithmetic,
and boundary checks one microsecond either side of expiry.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zeropools.domain.errors import (
    AmountOutOfRange,
    NotFound,
    PoolDisabled,
    QuoteAlreadyUsed,
    QuoteExpired,
)
from zeropools.domain.money import Currencies
from zeropools.domain.pools import Pool, default_pools, parse_rate
from zeropools.domain.quotes import (
    Quote,
    check_quote_executable,
    fee_minor_ceil,
    price_quote,
    quote_not_found,
    quote_status,
)

NOW = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
CURRENCIES = Currencies()
TTL_S = 30


def eur_usdt(**changes: Any) -> Pool:
    pool = default_pools().pool("EUR-USDT")
    assert pool is not None
    return replace(pool, **changes)


def quote(pool: Pool, rate: str, source_amount_minor: int, now: datetime = NOW) -> Quote:
    return price_quote(
        pool,
        parse_rate(rate),
        source_amount_minor,
        CURRENCIES,
        quote_id="pq_test_1",
        partner_id="partner_1",
        partner_order_id="order_123",
        now=now,
        ttl_s=TTL_S,
    )


@pytest.mark.parametrize(
    ("source", "rate", "fee", "target"),
    [
        # 100.00 EUR, fee 0.50 exactly, 99.50 * 1.0850 = 107.957500 USDT exactly.
        ("100.00", "1.0850", "0.50", "107.957500"),
        # 10.01 EUR: exact fee 0.05005 rounds UP to 0.06; 9.95 * 1.0850 = 10.795750.
        ("10.01", "1.0850", "0.06", "10.795750"),
        # 12.34 EUR: exact fee 0.0617 rounds UP to 0.07; 12.27 * 1.0850123 = 13.313100921,
        # rounded DOWN to 13.313100.
        ("12.34", "1.0850123", "0.07", "13.313100"),
        # 1,000,000.00 EUR (the demo maximum): fee 5,000.00; 995,000.00 * 1.0850 = 1,079,575.
        ("1000000.00", "1.0850", "5000.00", "1079575.000000"),
        # 10.00 EUR at 0.333333333333: 9.95 * rate = 3.31666666666335 -> 3.316666.
        ("10.00", "0.333333333333", "0.05", "3.316666"),
    ],
)
def test_hand_computed_quotes_match_to_the_minor_unit(
    source: str, rate: str, fee: str, target: str
) -> None:
    priced = quote(eur_usdt(), rate, CURRENCIES.parse(source, "EUR"))
    assert CURRENCIES.format(priced.fee_minor, "EUR") == fee
    assert CURRENCIES.format(priced.target_amount_minor, "USDT") == target
    assert priced.rate == rate
    assert (priced.fee_bps, priced.status, priced.pool_id) == (50, "open", "EUR-USDT")
    assert (priced.source_currency, priced.target_asset) == ("EUR", "USDT")


def test_a_zero_fee_pool_charges_nothing_and_converts_the_whole_amount() -> None:
    priced = quote(eur_usdt(fee_bps=0), "1.0850", 100_00)
    assert (priced.fee_minor, priced.target_amount_minor) == (0, 108_500_000)


def test_a_zero_decimal_source_currency_converts_with_its_own_scale() -> None:
    pool = Pool("JPY-USDT", "JPY", "USDT", 1000, 10_000_000, fee_bps=50, enabled=True)
    # 1000 JPY: fee 5 JPY; 995 * 0.0067 = 6.6665 USDT.
    priced = quote(pool, "0.0067", 1000)
    assert (priced.fee_minor, priced.target_amount_minor) == (5, 6_666_500)


def test_quote_expires_ttl_seconds_after_creation() -> None:
    priced = quote(eur_usdt(), "1.0850", 100_00)
    assert priced.created_at == NOW
    assert priced.expires_at == NOW + timedelta(seconds=TTL_S)
    assert priced.partner_order_id == "order_123"


def test_pricing_refuses_a_disabled_pool_and_amounts_outside_its_limits() -> None:
    with pytest.raises(PoolDisabled):
        quote(eur_usdt(enabled=False), "1.0850", 100_00)
    with pytest.raises(AmountOutOfRange):
        quote(eur_usdt(), "1.0850", 9_99)
    with pytest.raises(AmountOutOfRange):
        quote(eur_usdt(), "1.0850", 1_000_000_01)


def test_an_amount_that_delivers_nothing_after_the_fee_is_refused() -> None:
    tiny = eur_usdt(min_amount_minor=1)
    # 0.01 EUR: the fee rounds up to the whole cent, leaving nothing to convert.
    with pytest.raises(AmountOutOfRange, match="too small"):
        quote(tiny, "1.0850", 1)


def test_a_target_beyond_the_ledger_ceiling_is_refused() -> None:
    with pytest.raises(AmountOutOfRange, match="largest"):
        quote(eur_usdt(), "100000", 1_000_000_00)


@given(
    source_amount_minor=st.integers(min_value=1, max_value=10**12),
    fee_bps=st.integers(min_value=0, max_value=9_999),
    rate_int=st.integers(min_value=0, max_value=1000),
    rate_frac=st.text(alphabet="0123456789", max_size=12),
    source_scale=st.sampled_from([0, 2, 3]),
    target_scale=st.sampled_from([0, 2, 6, 8]),
)
def test_rounding_favours_the_platform_by_less_than_one_minor_unit(
    source_amount_minor: int,
    fee_bps: int,
    rate_int: int,
    rate_frac: str,
    source_scale: int,
    target_scale: int,
) -> None:
    rate_text = f"{rate_int}.{rate_frac}" if rate_frac else str(rate_int)
    rate = Fraction(rate_text)
    if rate == 0:
        return
    currencies = Currencies({"SRC": source_scale, "TGT": target_scale})
    pool = Pool("SRC-TGT", "SRC", "TGT", 1, 10**12, fee_bps=fee_bps, enabled=True)
    exact_fee = Fraction(source_amount_minor * fee_bps, 10_000)
    try:
        priced = price_quote(
            pool,
            parse_rate(rate_text),
            source_amount_minor,
            currencies,
            quote_id="pq_test_1",
            partner_id="partner_1",
            partner_order_id=None,
            now=NOW,
            ttl_s=TTL_S,
        )
    except AmountOutOfRange:
        # Refused only when the rounded-down target is nothing or above the ceiling.
        net = source_amount_minor - fee_minor_ceil(source_amount_minor, fee_bps)
        exact = net * rate * 10**target_scale / 10**source_scale
        assert exact < 1 or exact >= 10**15 + 1
        return
    assert exact_fee <= priced.fee_minor < exact_fee + 1
    net = source_amount_minor - priced.fee_minor
    exact_target = Fraction(net) * rate * 10**target_scale / 10**source_scale
    assert priced.target_amount_minor <= exact_target < priced.target_amount_minor + 1
    # And against the exact price of the whole deal: the partner never gets more.
    exact_deal = (source_amount_minor - exact_fee) * rate * 10**target_scale / 10**source_scale
    assert priced.target_amount_minor <= exact_deal


def test_a_quote_is_open_until_one_microsecond_before_it_expires() -> None:
    priced = quote(eur_usdt(), "1.0850", 100_00)
    just_before = priced.expires_at - timedelta(microseconds=1)
    assert quote_status(priced, used=False, now=just_before) == "open"
    check_quote_executable(priced, partner_id="partner_1", used=False, now=just_before)


def test_a_quote_is_expired_exactly_at_expires_at() -> None:
    priced = quote(eur_usdt(), "1.0850", 100_00)
    assert quote_status(priced, used=False, now=priced.expires_at) == "expired"
    with pytest.raises(QuoteExpired) as refused:
        check_quote_executable(priced, partner_id="partner_1", used=False, now=priced.expires_at)
    assert refused.value.extra["expires_at"] == "2026-11-23T09:15:30.000000Z"
    assert refused.value.extra["quote_id"] == "pq_test_1"


def test_expiry_compares_instants_not_wall_clock_offsets() -> None:
    priced = quote(eur_usdt(), "1.0850", 100_00)
    # 10:15:29 at +01:00 is 09:15:29 UTC, one second before expiry.
    paris = timezone(timedelta(hours=1))
    assert quote_status(priced, False, datetime(2026, 11, 23, 10, 15, 29, tzinfo=paris)) == "open"


def test_a_used_quote_stays_used_even_after_it_expires() -> None:
    priced = quote(eur_usdt(), "1.0850", 100_00)
    assert quote_status(priced, used=True, now=NOW) == "used"
    later = priced.expires_at + timedelta(hours=1)
    assert quote_status(priced, used=True, now=later) == "used"
    with pytest.raises(QuoteAlreadyUsed):
        check_quote_executable(priced, partner_id="partner_1", used=True, now=later)


def test_another_partners_quote_is_not_found_exactly_like_an_unknown_one() -> None:
    priced = quote(eur_usdt(), "1.0850", 100_00)
    with pytest.raises(NotFound) as refused:
        check_quote_executable(priced, partner_id="partner_2", used=False, now=NOW)
    unknown = quote_not_found("pq_test_1")
    assert (refused.value.detail, refused.value.extra) == (unknown.detail, unknown.extra)


def test_pricing_refuses_naive_times_as_a_bug() -> None:
    with pytest.raises(AssertionError):
        quote(eur_usdt(), "1.0850", 100_00, now=datetime(2026, 11, 23, 9, 15))

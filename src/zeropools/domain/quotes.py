"""Firm quotes: what a partner will receive for a source amount, fixed until ``expires_at``.

A quote moves no money (API.md: "No ledger movement"); it only fixes the terms a trade may
later execute. Pricing is exact integer arithmetic on minor units and the rate's rational value,
and every rounding goes in the platform's favour, by less than one minor unit, so the platform
never pays out more than the exact price nor charges less than the exact fee.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from zeropools.domain import limits
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import AmountOutOfRange, NotFound, QuoteAlreadyUsed, QuoteExpired
from zeropools.domain.money import Currencies
from zeropools.domain.pools import BPS_PER_UNIT, Pool, Rate, check_pool_amount, convert_minor_floor

OPEN = "open"
USED = "used"
EXPIRED = "expired"
QUOTE_STATUSES = frozenset({OPEN, USED, EXPIRED})


@dataclass(frozen=True)
class Quote:
    """A priced offer. ``status`` is as of when the object was built; ``quote_status`` derives
    the current one, because expiry is a matter of time and use is a matter of trades."""

    id: str
    partner_id: str
    pool_id: str
    source_currency: str
    source_amount_minor: int
    target_asset: str
    target_amount_minor: int
    rate: str
    fee_minor: int
    fee_bps: int
    created_at: datetime
    expires_at: datetime
    status: str
    partner_order_id: str | None
    request_id: str | None = None  # the request that priced it, as stored (None before it is)

    def __post_init__(self) -> None:
        assert self.status in QUOTE_STATUSES, self.status
        assert 0 <= self.fee_minor < self.source_amount_minor, self
        assert 0 < self.target_amount_minor <= limits.AMOUNT_MINOR_MAX, self
        assert _is_aware(self.created_at) and _is_aware(self.expires_at), self
        assert self.created_at < self.expires_at, self


def fee_minor_ceil(source_amount_minor: int, fee_bps: int) -> int:
    """``source * fee_bps / 10_000`` rounded up to a whole minor unit (ceiling division)."""
    assert source_amount_minor >= 0 and 0 <= fee_bps < BPS_PER_UNIT
    return -(-source_amount_minor * fee_bps // BPS_PER_UNIT)


def price_quote(
    pool: Pool,
    rate: Rate,
    source_amount_minor: int,
    currencies: Currencies,
    *,
    quote_id: str,
    partner_id: str,
    partner_order_id: str | None,
    now: datetime,
    ttl_s: int,
) -> Quote:
    """Price ``source_amount_minor`` of the pool's source currency into its target asset.

    Rounding, always in the platform's favour and by less than one minor unit:

    - ``fee = source * fee_bps / 10_000`` rounded **up** to the source currency's minor unit;
    - ``net = source - fee`` (exact);
    - ``target = net * rate`` in the target asset's minor units (USDT/USDC: 6 decimals),
      rounded **down**.

    Example: 100.00 EUR at 1.0850 with 50 bps -> fee 0.50 EUR, net 99.50 EUR,
    target 107.957500 USDT. 10.01 EUR -> exact fee 0.05005 -> fee 0.06 EUR.

    Raises ``PoolDisabled`` / ``AmountOutOfRange`` for the pool's rules, and
    ``AmountOutOfRange`` when the amount is too small to deliver anything after the fee or
    the target would exceed the largest amount the ledger accepts.
    ``ttl_s`` is the quote lifetime in seconds (``limits.QUOTE_TTL_S``).
    """
    assert _is_aware(now), "naive datetimes are a bug: every time here is UTC"
    assert ttl_s > 0, ttl_s
    assert rate.value > 0, rate
    check_pool_amount(pool, source_amount_minor, currencies)
    source_scale = currencies.scale(pool.source_currency)
    target_scale = currencies.scale(pool.target_asset)
    fee_minor = fee_minor_ceil(source_amount_minor, pool.fee_bps)
    net_minor = source_amount_minor - fee_minor
    target_minor = convert_minor_floor(
        net_minor, rate, source_scale=source_scale, target_scale=target_scale
    )
    if target_minor <= 0:
        # Only reachable with a pool minimum in the last few minor units: refuse rather
        # than sell nothing for a fee.
        raise AmountOutOfRange(
            f"{currencies.format(source_amount_minor, pool.source_currency)} "
            f"{pool.source_currency} is too small to deliver any {pool.target_asset} after the "
            "fee.",
            pool_id=pool.id,
            currency=pool.source_currency,
            amount=currencies.format(source_amount_minor, pool.source_currency),
        )
    if target_minor > limits.AMOUNT_MINOR_MAX:
        raise AmountOutOfRange(
            f"{currencies.format(source_amount_minor, pool.source_currency)} "
            f"{pool.source_currency} at {rate.text} is above the largest "
            f"{pool.target_asset} amount accepted.",
            pool_id=pool.id,
            currency=pool.source_currency,
            amount=currencies.format(source_amount_minor, pool.source_currency),
        )
    return Quote(
        id=quote_id,
        partner_id=partner_id,
        pool_id=pool.id,
        source_currency=pool.source_currency,
        source_amount_minor=source_amount_minor,
        target_asset=pool.target_asset,
        target_amount_minor=target_minor,
        rate=rate.text,
        fee_minor=fee_minor,
        fee_bps=pool.fee_bps,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        status=OPEN,
        partner_order_id=partner_order_id,
    )


def quote_status(quote: Quote, used: bool, now: datetime) -> str:
    """``used`` wins over ``expired``: a quote that became a trade stays ``used`` forever."""
    assert _is_aware(now), "naive datetimes are a bug: every time here is UTC"
    if used:
        return USED
    # The quote is firm strictly before expires_at; at that instant it is gone.
    if now >= quote.expires_at:
        return EXPIRED
    return OPEN


def quote_not_found(quote_id: str) -> NotFound:
    """The one refusal for unknown ids and other partners' ids, so both answer identically."""
    return NotFound(f"No quote {quote_id}.", quote_id=quote_id)


def check_quote_executable(quote: Quote, *, partner_id: str, used: bool, now: datetime) -> None:
    """Refuse executing ``quote`` for ``partner_id`` unless it is theirs, unused and unexpired."""
    if quote.partner_id != partner_id:
        raise quote_not_found(quote.id)
    status = quote_status(quote, used, now)
    if status == USED:
        raise QuoteAlreadyUsed(
            f"Quote {quote.id} has already been executed; create a new quote.", quote_id=quote.id
        )
    if status == EXPIRED:
        expires_at = to_rfc3339(quote.expires_at)
        raise QuoteExpired(
            f"Quote {quote.id} expired at {expires_at}; create a new quote.",
            quote_id=quote.id,
            expires_at=expires_at,
        )


def _is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


@dataclass(frozen=True)
class StoredQuote:
    quote: Quote
    used: bool

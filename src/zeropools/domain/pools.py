"""Pools (liquidity pairs such as ``EUR-USDT``), their limits, fees and rates.

A pool converts a source currency a partner has funded into a target asset. Everything here is
a value: the deployment loads pools once (``default_pools`` or ``parse_pools_config``) and rates
come from a ``RateSource`` asked with an explicit time, so pricing stays pure and replayable.

Rates are exact rationals parsed from decimal strings ("1.0850" is 10850/10000); no float ever
touches a price, because a float rate would make two quotes for the same amount disagree in
the last minor unit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol

from zeropools.domain import limits
from zeropools.domain.errors import AmountOutOfRange, DomainError, PoolDisabled
from zeropools.domain.money import Currencies

STATIC = "static"
BPS_PER_UNIT = 10_000  # 1 bps = 1/10_000; a unit, not a limit.

# Twelve decimals price even a 0.0000001-per-unit pair to five significant digits.
RATE_DECIMALS_MAX = limits.RATE_DECIMALS_MAX

# A rate is a plain positive decimal: no sign, exponent, spaces or leading zeros ("01.5").
_RATE_TEXT = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_CONFIG_FIELDS = (
    "id",
    "source_currency",
    "target_asset",
    "min_amount",
    "max_amount",
    "fee_bps",
    "enabled",
    "rate",
)


@dataclass(frozen=True)
class Pool:
    """One liquidity pair; amounts are minor units of ``source_currency``."""

    id: str
    source_currency: str
    target_asset: str
    min_amount_minor: int
    max_amount_minor: int
    fee_bps: int
    enabled: bool
    rate_source: str = STATIC

    def __post_init__(self) -> None:
        # Config parsing refuses all of these with a message; reaching here is our bug.
        assert self.id == f"{self.source_currency}-{self.target_asset}", self.id
        assert 0 < self.min_amount_minor <= self.max_amount_minor, self
        assert self.max_amount_minor <= limits.AMOUNT_MINOR_MAX, self
        assert 0 <= self.fee_bps < BPS_PER_UNIT, self


@dataclass(frozen=True)
class Rate:
    """Target units per one source unit: ``text`` as quoted, ``value`` the same number exactly.

    Build with ``parse_rate``; the quote stores ``text`` so the partner sees the rate that
    was really applied, digit for digit.
    """

    text: str
    value: Fraction

    def __post_init__(self) -> None:
        assert _RATE_TEXT.fullmatch(self.text), self.text
        assert Fraction(self.text) == self.value > 0, self


def parse_rate(text: object) -> Rate:
    """A decimal string such as ``"1.0850"`` into an exact ``Rate``; ``ValueError`` otherwise."""
    if not isinstance(text, str):
        kind = "a JSON number" if isinstance(text, int | Decimal) else type(text).__name__
        raise ValueError(f'a rate is a decimal string such as "1.0850", not {kind}')
    if not _RATE_TEXT.fullmatch(text):
        raise ValueError(
            f"rate {text!r} is not a plain decimal string: digits, an optional '.', no sign, "
            "exponent or leading zeros"
        )
    _, _, decimals = text.partition(".")
    if len(decimals) > RATE_DECIMALS_MAX:
        raise ValueError(
            f"rate {text!r} has {len(decimals)} decimals; at most {RATE_DECIMALS_MAX} are allowed"
        )
    # Fraction parses a validated decimal string exactly: "1.0850" -> 217/200.
    value = Fraction(text)
    if value <= 0:
        raise ValueError(f"rate {text!r} must be above zero")
    return Rate(text=text, value=value)


class RateSource(Protocol):
    """Where prices come from; ``at`` is passed in so a rate source never reads the clock."""

    def rate(self, pool: Pool, at: datetime) -> Rate: ...


class StaticRates:
    """Fixed rates per pool id, for the demo and for tests; ignores ``at``."""

    def __init__(self, rates: Mapping[str, str]) -> None:
        self._rates: dict[str, Rate] = {}
        for pool_id, text in rates.items():
            try:
                self._rates[pool_id] = parse_rate(text)
            except ValueError as exc:
                raise ValueError(f"pool {pool_id!r}: {exc}") from None

    def rate(self, pool: Pool, at: datetime) -> Rate:
        found = self._rates.get(pool.id)
        # Configuration guarantees every pool has a rate; a miss is a wiring bug.
        assert found is not None, f"no static rate for pool {pool.id!r}"
        return found

    def pool_ids(self) -> frozenset[str]:
        return frozenset(self._rates)


@dataclass(frozen=True)
class PoolsConfig:
    """What a deployment offers: its pools, in configured order, and their static rates."""

    pools: tuple[Pool, ...]
    rates: StaticRates

    def __post_init__(self) -> None:
        pool_ids = [pool.id for pool in self.pools]
        assert len(set(pool_ids)) == len(pool_ids), pool_ids
        assert self.rates.pool_ids() == set(pool_ids), (pool_ids, self.rates.pool_ids())

    def pool(self, pool_id: str) -> Pool | None:
        return next((pool for pool in self.pools if pool.id == pool_id), None)


def default_pools() -> PoolsConfig:
    """Demo defaults, not commercial terms: three enabled pools, 10.00 to 1,000,000.00 of the
    source currency, a 50 bps fee and fixed rates. Real deployments load a pools file."""
    pools = tuple(
        Pool(
            id=f"{source}-{target}",
            source_currency=source,
            target_asset=target,
            min_amount_minor=10_00,
            max_amount_minor=1_000_000_00,
            fee_bps=50,
            enabled=True,
        )
        for source, target in (("EUR", "USDT"), ("EUR", "USDC"), ("USD", "USDT"))
    )
    rates = StaticRates({"EUR-USDT": "1.0850", "EUR-USDC": "1.0845", "USD-USDT": "0.9990"})
    return PoolsConfig(pools=pools, rates=rates)


def parse_pools_config(text: str, currencies: Currencies | None = None) -> PoolsConfig:
    """Parse a pools file: a JSON list of ``{id, source_currency, target_asset, min_amount,
    max_amount, fee_bps, enabled, rate}`` with money and rates as decimal strings.

    Every mistake raises ``ValueError`` naming the entry and the field, because a wrong pool
    file silently mis-prices money; unknown fields are refused so a typo such as ``"enabeld"``
    cannot leave a pool switched on.
    """
    known = currencies if currencies is not None else Currencies()
    try:
        document = json.loads(
            text,
            # Never build a float: numbers become Decimal and are then refused by type.
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_refuse_duplicate_keys,
        )
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"pools config is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(document, list):
        raise ValueError("pools config must be a JSON list of pool objects")
    if not document:
        raise ValueError('pools config defines no pools; disable pools with "enabled": false')
    pools: list[Pool] = []
    rates: dict[str, str] = {}
    for index, item in enumerate(document):
        pool, rate = _parse_pool(index, item, known)
        if pool.id in rates:
            raise ValueError(f"pools config entry {index}: pool {pool.id!r} is defined twice")
        pools.append(pool)
        rates[pool.id] = rate.text
    return PoolsConfig(pools=tuple(pools), rates=StaticRates(rates))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"pools config contains {name}, which is not a number")


def _refuse_duplicate_keys(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"pools config repeats the key {key!r} in one object")
        result[key] = value
    return result


def _parse_pool(index: int, item: object, currencies: Currencies) -> tuple[Pool, Rate]:
    if not isinstance(item, dict):
        raise ValueError(f"pools config entry {index} must be an object")
    where = f"pools config entry {index} ({item.get('id')!r})"
    missing = [name for name in _CONFIG_FIELDS if name not in item]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(item) - set(_CONFIG_FIELDS))
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(unknown)}; expected {', '.join(_CONFIG_FIELDS)}"
        )
    source, target = item["source_currency"], item["target_asset"]
    for name, code in (("source_currency", source), ("target_asset", target)):
        if not isinstance(code, str) or code not in currencies.scales:
            raise ValueError(
                f"{where}: {name} {code!r} is not a currency this deployment knows "
                f"({', '.join(sorted(currencies.scales))})"
            )
    if source == target:
        raise ValueError(f"{where}: source_currency and target_asset are both {source!r}")
    if item["id"] != f"{source}-{target}":
        raise ValueError(f"{where}: id must be '{source}-{target}' (source-target)")
    min_minor = _parse_money(where, "min_amount", item["min_amount"], source, currencies)
    max_minor = _parse_money(where, "max_amount", item["max_amount"], source, currencies)
    if min_minor > max_minor:
        raise ValueError(
            f"{where}: min_amount {item['min_amount']} is above max_amount {item['max_amount']}"
        )
    fee_bps = item["fee_bps"]
    # bool is an int subclass; `true` as a fee is a mistake, not 1 bps.
    if not isinstance(fee_bps, int) or isinstance(fee_bps, bool):
        raise ValueError(f"{where}: fee_bps must be a whole number of basis points, like 50")
    if not 0 <= fee_bps < BPS_PER_UNIT:
        raise ValueError(f"{where}: fee_bps {fee_bps} must be from 0 to {BPS_PER_UNIT - 1}")
    enabled = item["enabled"]
    if not isinstance(enabled, bool):
        raise ValueError(f"{where}: enabled must be true or false")
    try:
        rate = parse_rate(item["rate"])
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    pool = Pool(
        id=item["id"],
        source_currency=source,
        target_asset=target,
        min_amount_minor=min_minor,
        max_amount_minor=max_minor,
        fee_bps=fee_bps,
        enabled=enabled,
    )
    # A pool whose largest trade would price beyond the amount ceiling could never be quoted
    # at its top end; say so now rather than as a puzzling refusal per quote.
    top_minor = convert_minor_floor(
        max_minor,
        rate,
        source_scale=currencies.scale(source),
        target_scale=currencies.scale(target),
    )
    if top_minor > limits.AMOUNT_MINOR_MAX:
        raise ValueError(
            f"{where}: max_amount {item['max_amount']} at rate {rate.text} is "
            f"{currencies.format(top_minor, target)} {target}, above the largest amount accepted"
        )
    return pool, rate


def _parse_money(where: str, name: str, value: object, currency: str, known: Currencies) -> int:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        raise ValueError(f'{where}: {name} must be a decimal string such as "10.00", not a number')
    try:
        return known.parse(value, currency)
    except DomainError as exc:
        raise ValueError(f"{where}: {name}: {exc.detail}") from None


def convert_minor_floor(
    amount_minor: int, rate: Rate, *, source_scale: int, target_scale: int
) -> int:
    """``amount_minor`` (source scale) at ``rate`` in target minor units, rounded down.

    Integer arithmetic on the rate's numerator and denominator: exact for any size, and floor
    division is the rounding, so nothing is rounded twice.
    """
    assert amount_minor >= 0, amount_minor
    # Annotated because typeshed types int ** int as Any (a negative exponent gives a float).
    target_unit: int = 10**target_scale
    source_unit: int = 10**source_scale
    numerator = amount_minor * rate.value.numerator * target_unit
    denominator = rate.value.denominator * source_unit
    return numerator // denominator


def check_pool_amount(pool: Pool, amount_minor: int, currencies: Currencies) -> None:
    """Refuse a disabled pool or an amount outside its limits (both 422 in API.md)."""
    if not pool.enabled:
        raise PoolDisabled(
            f"Pool {pool.id} is disabled; no new quotes are given on it.", pool_id=pool.id
        )
    if not pool.min_amount_minor <= amount_minor <= pool.max_amount_minor:
        currency = pool.source_currency
        low = currencies.format(pool.min_amount_minor, currency)
        high = currencies.format(pool.max_amount_minor, currency)
        amount = currencies.format(amount_minor, currency)
        raise AmountOutOfRange(
            f"Pool {pool.id} accepts {low} to {high} {currency}; {amount} is outside that range.",
            pool_id=pool.id,
            currency=currency,
            amount=amount,
            min_amount=low,
            max_amount=high,
        )

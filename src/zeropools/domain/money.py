"""Money: integers of minor units inside, decimal strings at the edges, never float.

Parsing is strict on purpose (API.md, "Money"): a JSON number, an exponent, ``NaN``, a sign
where none is allowed, a comma, whitespace or more decimals than the currency has are all
refused, because each of them is a way for a partner's bug to move the wrong amount.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from zeropools.domain import limits
from zeropools.domain.errors import (
    AmountInvalid,
    AmountOutOfRange,
    AmountPrecisionExceeded,
    CurrencyNotEnabled,
)

DEFAULT_SCALES: Mapping[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "SEK": 2,
    "JPY": 0,
    "USDT": 6,
    "USDC": 6,
}

# The settings key under which a deployment pins its scales with the data (bootstrap writes
# it on start); readers of stored minor units, like verify, take their scales from it.
CURRENCY_SCALES_SETTING = "currency_scales"

# ASCII digits only: Python's \d also matches Arabic-Indic and other digits.
_UNSIGNED = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")
_SIGNED = re.compile(r"(?P<sign>-?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")
_CURRENCY_CODE = re.compile(r"[A-Z]{3,5}")


@dataclass(frozen=True)
class Currencies:
    """The currencies a deployment knows, with their scales (decimal places)."""

    scales: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SCALES))

    def __post_init__(self) -> None:
        for code, scale in self.scales.items():
            assert _CURRENCY_CODE.fullmatch(code), code
            assert 0 <= scale <= limits.CURRENCY_SCALE_MAX, (code, scale)

    def scale(self, currency: object) -> int:
        if not isinstance(currency, str) or currency not in self.scales:
            raise CurrencyNotEnabled(
                f"Currency {currency!r} is not known to this deployment.", currency=currency
            )
        return self.scales[currency]

    def parse(self, text: object, currency: str, **options: bool) -> int:
        return parse_amount(text, self.scale(currency), **options)

    def format(self, amount_minor: int, currency: str) -> str:
        return format_amount(amount_minor, self.scale(currency))


def parse_amount(
    text: object,
    scale: int,
    *,
    allow_negative: bool = False,
    allow_zero: bool = False,
    allow_trailing_zeros: bool = False,
) -> int:
    """Parse a decimal string into minor units of a currency with ``scale`` decimals.

    ``allow_trailing_zeros`` is for bank files, which may write ``8.850`` for 8.85 EUR; the API
    itself refuses extra decimals even when they are zero, as API.md says.
    """
    if not isinstance(text, str):
        example = '"-12.00"' if allow_negative else '"100.00"'
        raise AmountInvalid(
            f"Expected a decimal string such as {example}, got {_json_kind(text)}.",
            value=repr(text),
        )
    if len(text) > limits.AMOUNT_TEXT_CHARS_MAX:
        raise AmountInvalid(
            f"An amount is at most {limits.AMOUNT_TEXT_CHARS_MAX} characters.", value=text[:40]
        )
    match = (_SIGNED if allow_negative else _UNSIGNED).fullmatch(text)
    if match is None:
        sign_note = ", optionally with a leading -" if allow_negative else ""
        raise AmountInvalid(
            f"{text!r} is not a decimal string: use digits and an optional '.' "
            f"with at most {scale} decimals{sign_note}.",
            value=text,
        )
    whole = match.group("int").lstrip("0")
    if len(whole) > len(str(limits.AMOUNT_MINOR_MAX)):
        # checked on the text: int() of a huge digit string is slow, then refused by CPython
        raise AmountOutOfRange("The amount is above the largest amount accepted.", value=text[:40])
    frac = match.group("frac") or ""
    if len(frac) > scale:
        excess = frac[scale:]
        if not (allow_trailing_zeros and set(excess) == {"0"}):
            raise AmountPrecisionExceeded(
                f"{text!r} has {len(frac)} decimals; this currency has {scale}.",
                value=text,
                scale=scale,
            )
        frac = frac[:scale]
    magnitude: int = int(whole or "0") * 10**scale + int(frac.ljust(scale, "0") or "0")
    negative = allow_negative and match.group("sign") == "-"
    if magnitude > limits.AMOUNT_MINOR_MAX:
        raise AmountOutOfRange(f"{text!r} is above the largest amount accepted.", value=text)
    if magnitude == 0 and not allow_zero:
        raise AmountInvalid("Amount must not be zero.", value=text)
    return -magnitude if negative else magnitude


def _json_kind(value: object) -> str:
    """What the caller sent, named in JSON's words (a caller never sent a ``NoneType``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the JSON boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the JSON number {value!r} (numbers can lose digits on the way; quote it)"
    if isinstance(value, list | tuple):
        return "a JSON array"
    if isinstance(value, dict):
        return "a JSON object"
    return type(value).__name__


def format_amount(amount_minor: int, scale: int) -> str:
    """Format minor units with exactly ``scale`` decimals: ``10000, 2 -> "100.00"``."""
    assert isinstance(amount_minor, int) and not isinstance(amount_minor, bool)
    sign = "-" if amount_minor < 0 else ""
    magnitude = abs(amount_minor)
    if scale == 0:
        return f"{sign}{magnitude}"
    whole, frac = divmod(magnitude, 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}"


def amount_formatter(scale: int) -> Callable[[int], str]:
    """``format_amount`` with its scale bound, for bulk output (the finance export formats three
    amounts per entry, a million entries a day): the same strings, without the per-call checks
    and scale lookup."""
    if scale == 0:
        return str
    # %-formatting of divmod's pair: the cheapest way CPython has to write it
    unit, template, split = 10**scale, f"%d.%0{scale}d", divmod

    def format_minor(amount_minor: int) -> str:
        text: str = template % split(abs(amount_minor), unit)
        return text if amount_minor >= 0 else "-" + text

    return format_minor


def parse_currency_scales(text: str) -> dict[str, int]:
    """``"EUR:2,JPY:0"`` (configuration) into a mapping."""
    scales: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        code, _, scale = item.partition(":")
        if not _CURRENCY_CODE.fullmatch(code) or not scale.isdigit():
            raise ValueError(f"currency scale {item!r} is not CODE:DIGITS")
        scales[code] = int(scale)
    return scales

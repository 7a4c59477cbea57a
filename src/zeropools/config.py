"""Configuration from the environment (``ZEROPOOLS_*``), read once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from zeropools.domain import limits
from zeropools.domain.money import DEFAULT_SCALES, parse_currency_scales
from zeropools.domain.partners import DEMO_FUNDING_ACCOUNT, FundingAccount
from zeropools.domain.rate_limits import OFF, SERVE_DEFAULTS, Rate, RateLimits
from zeropools.store.open import DEFAULT_DB_URL


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 8000
    operator_key: str | None = None
    currency_scales: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SCALES))
    funding_account: FundingAccount = DEMO_FUNDING_ACCOUNT
    funding_accounts: Mapping[str, FundingAccount] = field(default_factory=dict)
    webhook_allow_private: bool = False
    webhook_worker: bool = True  # `serve` delivers webhooks itself; off when workers run apart
    pools_file: str | None = None
    delivery_tolerance_bps: int = limits.DELIVERY_TOLERANCE_BPS
    signing_key_file: str | None = None
    key_pepper: str | None = None  # ZEROPOOLS_KEY_PEPPER: the HMAC key of stored API key hashes
    rate_limits: RateLimits = field(default_factory=RateLimits)
    body_timeout_s: float = limits.REQUEST_BODY_TIMEOUT_S
    header_timeout_s: float = limits.REQUEST_HEADER_TIMEOUT_S


_OFF = ("off", "false", "0", "no")


def _account(env: Mapping[str, str], suffix: str, fallback: FundingAccount) -> FundingAccount:
    return FundingAccount(
        iban=env.get(f"ZEROPOOLS_COLLECTION_IBAN{suffix}", fallback.iban).replace(" ", ""),
        bic=env.get(f"ZEROPOOLS_COLLECTION_BIC{suffix}", fallback.bic),
        account_holder=env.get(f"ZEROPOOLS_COLLECTION_HOLDER{suffix}", fallback.account_holder),
    )


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings; per-currency accounts via ``ZEROPOOLS_COLLECTION_IBAN_USD`` and so on."""
    env = os.environ if env is None else env
    base = Settings()
    scales = dict(DEFAULT_SCALES)
    scales.update(parse_currency_scales(env.get("ZEROPOOLS_CURRENCY_SCALES", "")))
    default_account = _account(env, "", base.funding_account)
    per_currency = {
        code: _account(env, f"_{code}", default_account)
        for code in scales
        if f"ZEROPOOLS_COLLECTION_IBAN_{code}" in env
    }
    return Settings(
        db_url=env.get("ZEROPOOLS_DB", base.db_url),
        host=env.get("ZEROPOOLS_HOST", base.host),
        port=int(env.get("ZEROPOOLS_PORT", str(base.port))),
        operator_key=env.get("ZEROPOOLS_OPERATOR_KEY") or None,
        currency_scales=scales,
        funding_account=default_account,
        funding_accounts=per_currency,
        webhook_allow_private=env.get("ZEROPOOLS_WEBHOOK_ALLOW_PRIVATE", "").lower() == "true",
        webhook_worker=env.get("ZEROPOOLS_WEBHOOK_WORKER", "on").lower() not in _OFF,
        pools_file=env.get("ZEROPOOLS_POOLS_FILE") or None,
        delivery_tolerance_bps=_bps(env, "ZEROPOOLS_DELIVERY_TOLERANCE_BPS", base),
        signing_key_file=env.get("ZEROPOOLS_SIGNING_KEY_FILE") or None,
        key_pepper=env.get("ZEROPOOLS_KEY_PEPPER") or None,
        rate_limits=rate_limits_from_env(env),
        body_timeout_s=_seconds(env, "ZEROPOOLS_BODY_TIMEOUT_S", base.body_timeout_s),
        header_timeout_s=_seconds(env, "ZEROPOOLS_HEADER_TIMEOUT_S", base.header_timeout_s),
    )


def _bps(env: Mapping[str, str], name: str, base: Settings) -> int:
    """A basis-point setting: a whole number from 0 to 10000, else the service must not start."""
    text = env.get(name)
    if text is None or text == "":
        return base.delivery_tolerance_bps
    if not text.isdigit() or int(text) > limits.BPS_PER_UNIT:
        raise ValueError(f"{name}={text!r}: a whole number of basis points from 0 to 10000")
    return int(text)


def rate_limits_from_env(env: Mapping[str, str]) -> RateLimits:
    """``ZEROPOOLS_RATE_LIMIT_KEY``, ``_ADDRESS``, ``_AUTH_FAILURES`` as ``PER_S:BURST`` (``off``
    or ``0`` turns one off), over ``SERVE_DEFAULTS``; ``ZEROPOOLS_RATE_LIMITS=off`` turns all
    off."""
    if env.get("ZEROPOOLS_RATE_LIMITS", "on").lower() in _OFF:
        return RateLimits()
    return RateLimits(
        per_key=_rate(env, "ZEROPOOLS_RATE_LIMIT_KEY", SERVE_DEFAULTS.per_key),
        per_address=_rate(env, "ZEROPOOLS_RATE_LIMIT_ADDRESS", SERVE_DEFAULTS.per_address),
        auth_failures_per_address=_rate(
            env, "ZEROPOOLS_RATE_LIMIT_AUTH_FAILURES", SERVE_DEFAULTS.auth_failures_per_address
        ),
    )


def _rate(env: Mapping[str, str], name: str, default: Rate) -> Rate:
    text = env.get(name, "").strip()
    if not text:
        return default
    if text.lower() in _OFF:
        return OFF
    per_s_text, _, burst_text = text.partition(":")
    try:
        per_s = float(per_s_text)
        burst = float(burst_text) if burst_text else max(1.0, per_s)
    except ValueError:
        per_s = burst = -1.0
    if not (0 < per_s < 1e6 and 1 <= burst < 1e9):  # also refuses nan and inf
        raise ValueError(f"{name}={text!r}: PER_SECOND:BURST, e.g. 100:200 (or off)")
    return Rate(per_s, burst)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= _TIMEOUT_S_MAX:  # also refuses nan
        raise ValueError(f"{name}={text!r}: seconds, more than 0 and at most {_TIMEOUT_S_MAX}")
    return value


_TIMEOUT_S_MAX = 3600

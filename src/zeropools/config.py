"""Configuration from the environment (``ZEROPOOLS_*``), read once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from zeropools.domain import limits
from zeropools.domain.money import DEFAULT_SCALES, parse_currency_scales
from zeropools.domain.partners import DEMO_FUNDING_ACCOUNT, FundingAccount
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
    )


def _bps(env: Mapping[str, str], name: str, base: Settings) -> int:
    """A basis-point setting: a whole number from 0 to 10000, else the service must not start."""
    text = env.get(name)
    if text is None or text == "":
        return base.delivery_tolerance_bps
    if not text.isdigit() or int(text) > limits.BPS_PER_UNIT:
        raise ValueError(f"{name}={text!r}: a whole number of basis points from 0 to 10000")
    return int(text)

"""Partners, their currencies, funding instructions and API keys (as values)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from zeropools.domain.keys import HMAC_SCHEME, legacy_digest
from zeropools.domain.ledger import Balance

BALANCE_MODELS = ("debit", "reserve")
OPERATOR = "operator"
PARTNER_ADMIN = "partner_admin"
PARTNER_SERVER = "partner_server"
ROLES = (OPERATOR, PARTNER_ADMIN, PARTNER_SERVER)
PARTNER_ROLES = (PARTNER_ADMIN, PARTNER_SERVER)
MODES = ("test", "live")
CONFIG_ORIGIN = "config"  # an operator key registered from ZEROPOOLS_OPERATOR_KEY (or the demo)

_KEY_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KEY_SECRET_CHARS = 40  # ~238 bits: far beyond guessing


@dataclass(frozen=True)
class PartnerCurrency:
    partner_id: str
    currency: str
    funding_reference: str
    low_balance_threshold_minor: int | None
    balance: Balance


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    balance_model: str
    created_at: str
    currencies: tuple[PartnerCurrency, ...]

    def currency(self, code: str) -> PartnerCurrency | None:
        return next((pc for pc in self.currencies if pc.currency == code), None)


@dataclass(frozen=True)
class ApiKey:
    id: str
    partner_id: str | None
    role: str
    mode: str
    secret_hash: str
    last4: str
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None
    hash_scheme: str = HMAC_SCHEME  # how ``secret_hash`` was made (domain.keys)
    origin: str | None = None  # CONFIG_ORIGIN: registered from start-up configuration


@dataclass(frozen=True)
class FundingAccount:
    """Where partners wire money: the deployment's collection account for a currency."""

    iban: str
    bic: str
    account_holder: str


# Demo defaults for a test deployment (a well-known example IBAN); live ones come from config.
DEMO_FUNDING_ACCOUNT = FundingAccount(
    iban="DE89370400440532013000", bic="COBADEFFXXX", account_holder="0Pools Collection"
)


@dataclass(frozen=True)
class FundingInstructions:
    partner_id: str
    currency: str
    iban: str
    bic: str
    account_holder: str
    reference: str
    instructions: str


def new_api_key_secret(mode: str) -> str:
    assert mode in MODES
    body = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(_KEY_SECRET_CHARS))
    return f"zpk_{mode}_{body}"


def hash_secret(secret: str) -> str:
    """The legacy (unkeyed) hash; new rows use ``keys.KeyHasher`` (HMAC with the pepper)."""
    return legacy_digest(secret)


def key_mode(secret: str) -> str | None:
    for mode in MODES:
        if secret.startswith(f"zpk_{mode}_"):
            return mode
    return None


def funding_instructions(
    pc: PartnerCurrency, account: FundingAccount, printed_reference: str
) -> FundingInstructions:
    return FundingInstructions(
        partner_id=pc.partner_id,
        currency=pc.currency,
        iban=account.iban,
        bic=account.bic,
        account_holder=account.account_holder,
        reference=pc.funding_reference,
        instructions=(
            f"Send {pc.currency} by bank transfer to {account.account_holder}, IBAN "
            f"{account.iban} (BIC {account.bic}). Put exactly {printed_reference} in the "
            "payment reference field; without it the funds wait for manual review. Your "
            "balance is credited once the bank has booked the transfer."
        ),
    )


def thresholds_by_currency(partner: Partner) -> Mapping[str, int | None]:
    return {pc.currency: pc.low_balance_threshold_minor for pc in partner.currencies}

"""What every use case receives: the deployment's wiring and who asks, when, under which id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from zeropools.domain import limits
from zeropools.domain.errors import Forbidden, NotFound, ValidationFailed
from zeropools.domain.keys import KeyHasher
from zeropools.domain.money import Currencies
from zeropools.domain.partners import DEMO_FUNDING_ACCOUNT, OPERATOR, FundingAccount
from zeropools.domain.pools import PoolsConfig, default_pools
from zeropools.services.key_cache import ApiKeyCache
from zeropools.services.lane_lookups import TradePartners
from zeropools.store.ports import PartnersPort
from zeropools.store.protocol import Store


@dataclass(frozen=True)
class Deployment:
    """``store`` is the one door for writes (bootstrap wraps it in group commit)."""

    store: Store
    mode: str
    currencies: Currencies = field(default_factory=Currencies)
    funding_accounts: Mapping[str, FundingAccount] = field(default_factory=dict)
    default_funding_account: FundingAccount = DEMO_FUNDING_ACCOUNT
    pools: PoolsConfig = field(default_factory=default_pools)
    # low-balance thresholds by (partner, currency): fixed when the partner is created (no API
    # changes them), so each process reads each one once instead of once per posting
    thresholds: dict[tuple[str, str], int | None] = field(default_factory=dict, compare=False)
    # each partner's currencies: fixed when the partner is created (no API adds or removes
    # one, and partners are never deleted), so a quote reads them once per process, not once
    # per quote (trading.quote_in)
    partner_currencies: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)
    # ZEROPOOLS_WEBHOOK_ALLOW_PRIVATE: live endpoints may be loopback or private addresses too
    webhook_allow_private: bool = False

    @property
    def webhook_private_targets_allowed(self) -> bool:
        """Test deployments deliver to local receivers; live ones only to public addresses,
        unless the operator allowed private ones (checked at registration and at delivery)."""
        return self.mode == "test" or self.webhook_allow_private

    delivery_tolerance_bps: int = limits.DELIVERY_TOLERANCE_BPS
    # the PEM file of the key that signs period checkpoints (never stored in the database)
    signing_key_file: str | None = None
    notices: tuple[str, ...] = ()  # what start-up should tell the operator (a generated key)
    # API key secrets are stored as HMAC(pepper, secret); bootstrap always passes the configured
    # pepper (ZEROPOOLS_KEY_PEPPER or the test-mode file). The empty default only serves apps
    # built without a database (the OpenAPI document).
    key_hasher: KeyHasher = field(default_factory=lambda: KeyHasher(b""))
    # authenticated API keys, so a request does not read its key (services.auth)
    key_cache: ApiKeyCache = field(default_factory=ApiKeyCache, compare=False)
    # the partners of trades operators act on, read for the requests waiting together
    trade_partners: TradePartners = field(default_factory=TradePartners, compare=False)

    def funding_account(self, currency: str) -> FundingAccount:
        return self.funding_accounts.get(currency, self.default_funding_account)


@dataclass(frozen=True)
class Actor:
    """The authenticated caller: an API key's id, role and partner (None for operators)."""

    key_id: str
    role: str
    partner_id: str | None

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR


@dataclass(frozen=True)
class Ctx:
    request_id: str
    now: datetime
    actor: Actor | None = None


def require_role(ctx: Ctx, *roles: str) -> Actor:
    assert ctx.actor is not None, "authenticated route without an actor"
    if ctx.actor.role not in roles:
        raise Forbidden(f"The {ctx.actor.role} role may not do this.", role=ctx.actor.role)
    return ctx.actor


def scoped_partner(ctx: Ctx, partner_id: str | None) -> str:
    """The partner a read is about: a partner key's own, or the operator's ``?partner_id=``.

    A partner key naming another partner gets the same 404 as an unknown id (never a hint).
    """
    assert ctx.actor is not None
    if ctx.actor.is_operator:
        if not partner_id:
            raise ValidationFailed.field(
                "partner_id",
                "required for operator keys",
                "Operators must name the partner: add ?partner_id=partner_...",
            )
        return partner_id
    assert ctx.actor.partner_id is not None
    if partner_id and partner_id != ctx.actor.partner_id:
        raise NotFound(f"No partner {partner_id!r}.")
    return ctx.actor.partner_id


def require_partner(tx: PartnersPort, partner_id: str | None) -> None:
    """A list filtered by an unknown ``partner_id`` is a 404, never an empty page that reads as
    "nothing happened" (the same answer ``/v1/balances`` gives)."""
    if partner_id is not None and tx.get_partner(partner_id) is None:
        raise NotFound(f"No partner {partner_id!r}.")

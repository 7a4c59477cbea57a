"""Onboarding partners, their API keys and funding instructions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from zeropools.domain import ids, limits, references
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import LastOperatorKey, NotFound, ValidationFailed
from zeropools.domain.ledger import GENESIS_HASH, Balance
from zeropools.domain.paging import Page
from zeropools.domain.partners import (
    BALANCE_MODELS,
    CONFIG_ORIGIN,
    OPERATOR,
    PARTNER_ADMIN,
    PARTNER_ROLES,
    ApiKey,
    FundingInstructions,
    Partner,
    PartnerCurrency,
    funding_instructions,
    new_api_key_secret,
)
from zeropools.services import dispatch
from zeropools.services.api_keys import find_key
from zeropools.services.commands import CreatePartner, IssueApiKey, NoteKeyUse, RevokeApiKey
from zeropools.services.context import Ctx, Deployment, require_role, scoped_partner
from zeropools.store.protocol import Tx


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


@dataclass(frozen=True)
class NewPartner:
    partner: Partner
    keys: tuple[IssuedKey, ...]
    funding: tuple[FundingInstructions, ...]


def _new_key(dep: Deployment, ctx: Ctx, role: str, partner_id: str | None) -> IssuedKey:
    secret = new_api_key_secret(dep.mode)
    key = ApiKey(
        id=ids.new_id(ids.API_KEY),
        partner_id=partner_id,
        role=role,
        mode=dep.mode,
        secret_hash=dep.key_hasher.digest(secret),
        last4=secret[-4:],
        created_at=to_rfc3339(ctx.now),
    )
    return IssuedKey(key, secret)


def create_partner(
    dep: Deployment,
    ctx: Ctx,
    *,
    name: str,
    balance_model: str,
    currencies: Sequence[str],
    low_balance_threshold: Mapping[str, str] | None = None,
) -> NewPartner:
    command = CreatePartner(name, balance_model, tuple(currencies), low_balance_threshold)
    return cast(NewPartner, dispatch.apply(dep, ctx, command))


def create_partner_in(dep: Deployment, ctx: Ctx, tx: Tx, command: CreatePartner) -> NewPartner:
    """A partner with its keys (secrets returned once) and a funding reference per currency."""
    require_role(ctx, OPERATOR)
    name, balance_model, currencies = command.name, command.balance_model, command.currencies
    low_balance_threshold = command.low_balance_threshold
    name = name.strip()
    if not name or len(name) > limits.PARTNER_NAME_CHARS_MAX:
        raise ValidationFailed.field("name", f"1 to {limits.PARTNER_NAME_CHARS_MAX} characters")
    if balance_model not in BALANCE_MODELS:
        raise ValidationFailed.field("balance_model", f"one of {', '.join(BALANCE_MODELS)}")
    if not currencies or len(currencies) > limits.CURRENCIES_PER_PARTNER_MAX:
        raise ValidationFailed.field(
            "currencies", f"1 to {limits.CURRENCIES_PER_PARTNER_MAX} currency codes"
        )
    if len(set(currencies)) != len(currencies):
        raise ValidationFailed.field("currencies", "each currency once")
    for code in currencies:
        dep.currencies.scale(code)  # CurrencyNotEnabled for a currency the deployment lacks
    thresholds: dict[str, int] = {}
    for code, text in (low_balance_threshold or {}).items():
        if code not in currencies:
            raise ValidationFailed.field(
                f"low_balance_threshold.{code}", "currency is not one of currencies"
            )
        thresholds[code] = dep.currencies.parse(text, code, allow_zero=True)

    partner_id = ids.new_id(ids.PARTNER)
    keys = tuple(_new_key(dep, ctx, role, partner_id) for role in PARTNER_ROLES)

    # references are random; a collision hits the UNIQUE index and the store retries
    partner = Partner(
        id=partner_id,
        name=name,
        balance_model=balance_model,
        created_at=to_rfc3339(ctx.now),
        currencies=tuple(
            PartnerCurrency(
                partner_id=partner_id,
                currency=code,
                funding_reference=references.new_creditor_reference(),
                low_balance_threshold_minor=thresholds.get(code),
                balance=Balance(),
            )
            for code in currencies
        ),
    )
    tx.insert_partner(partner, GENESIS_HASH)
    for issued in keys:
        tx.insert_api_key(issued.key)
    return NewPartner(partner, keys, instructions_for(dep, partner))


def instructions_for(dep: Deployment, partner: Partner) -> tuple[FundingInstructions, ...]:
    return tuple(
        funding_instructions(
            pc, dep.funding_account(pc.currency), references.format_printed(pc.funding_reference)
        )
        for pc in partner.currencies
    )


def get_partner(dep: Deployment, ctx: Ctx, partner_id: str) -> Partner:
    assert ctx.actor is not None
    if not ctx.actor.is_operator and ctx.actor.partner_id != partner_id:
        require_role(ctx, PARTNER_ADMIN)  # a server key gets 403, an admin key 404 below
        raise NotFound(f"No partner {partner_id!r}.")
    require_role(ctx, OPERATOR, PARTNER_ADMIN)
    partner = dep.store.read(lambda tx: tx.get_partner(partner_id))
    if partner is None:
        raise NotFound(f"No partner {partner_id!r}.")
    return partner


def list_partners(dep: Deployment, ctx: Ctx, page: Page) -> list[Partner]:
    require_role(ctx, OPERATOR)
    return dep.store.read(lambda tx: tx.list_partners(page))


def partner_funding_instructions(
    dep: Deployment, ctx: Ctx, partner_id: str | None
) -> tuple[FundingInstructions, ...]:
    scoped = scoped_partner(ctx, partner_id)
    partner = dep.store.read(lambda tx: tx.get_partner(scoped))
    if partner is None:
        raise NotFound(f"No partner {scoped!r}.")
    return instructions_for(dep, partner)


def issue_api_key(dep: Deployment, ctx: Ctx, partner_id: str, role: str) -> IssuedKey:
    return cast(IssuedKey, dispatch.apply(dep, ctx, IssueApiKey(partner_id, role)))


def issue_api_key_in(dep: Deployment, ctx: Ctx, tx: Tx, command: IssueApiKey) -> IssuedKey:
    require_role(ctx, OPERATOR)
    partner_id, role = command.partner_id, command.role
    if partner_id is None:
        if role != OPERATOR:
            raise ValidationFailed.field("role", "operator keys have the operator role")
    elif role not in PARTNER_ROLES:
        raise ValidationFailed.field("role", f"one of {', '.join(PARTNER_ROLES)}")
    if partner_id is not None and tx.get_partner(partner_id) is None:
        raise NotFound(f"No partner {partner_id!r}.")
    issued = _new_key(dep, ctx, role, partner_id)
    tx.insert_api_key(issued.key)
    return issued


def list_api_keys(dep: Deployment, ctx: Ctx, partner_id: str) -> list[ApiKey]:
    """A partner's keys (never their secrets): operators, and the partner's own admins."""
    get_partner(dep, ctx, partner_id)  # 404 for other partners, 403 for server keys
    return dep.store.read(lambda tx: tx.list_api_keys(partner_id))


def revoke_api_key(dep: Deployment, ctx: Ctx, key_id: str) -> ApiKey:
    revoked = cast(ApiKey, dispatch.apply(dep, ctx, RevokeApiKey(key_id)))
    # after the commit: no request of this process is answered with the key from now on
    # (other processes see it within API_KEY_CACHE_TTL_S)
    dep.key_cache.forget_all()
    return revoked


def revoke_api_key_in(dep: Deployment, ctx: Ctx, tx: Tx, command: RevokeApiKey) -> ApiKey:
    require_role(ctx, OPERATOR)
    key = tx.get_api_key(command.key_id)
    if key is None:
        raise NotFound(f"No API key {command.key_id!r}.")
    if key.role == OPERATOR and key.revoked_at is None:
        others = [k for k in tx.list_operator_keys() if k.revoked_at is None and k.id != key.id]
        if not others:
            raise LastOperatorKey(
                f"{key.id} is the only active operator key; issue another before revoking it.",
                key_id=key.id,
            )
    tx.revoke_api_key(command.key_id, to_rfc3339(ctx.now))
    revoked = tx.get_api_key(command.key_id)
    assert revoked is not None
    return revoked


def list_operator_keys(dep: Deployment, ctx: Ctx) -> list[ApiKey]:
    """Operator keys without their secrets, newest first."""
    require_role(ctx, OPERATOR)
    return dep.store.read(lambda tx: tx.list_operator_keys())


def issue_operator_key(dep: Deployment, ctx: Ctx) -> IssuedKey:
    """Another operator key (``POST /v1/operator-keys``), shown once."""
    return cast(IssuedKey, dispatch.apply(dep, ctx, IssueApiKey(None, OPERATOR)))


def note_key_use_in(dep: Deployment, ctx: Ctx, tx: Tx, command: NoteKeyUse) -> None:
    tx.note_api_key_use(command.key_id, to_rfc3339(ctx.now))


@dataclass(frozen=True)
class ConfiguredKey:
    key: ApiKey
    revoked: tuple[ApiKey, ...]  # keys earlier values of the variable registered, now revoked


def ensure_operator_key(dep: Deployment, secret: str, now_text: str) -> ConfiguredKey:
    """Register the operator key from ``ZEROPOOLS_OPERATOR_KEY`` (idempotent), and revoke the
    keys that earlier values of it registered: the variable names one key, so changing it
    rotates. The caller checks the secret's strength first (``keys.operator_secret_weakness``)."""
    known = find_key(dep, secret)  # also upgrades a key stored under the legacy hash

    def work(tx: Tx) -> ConfiguredKey:
        key = known
        if key is None:
            key = ApiKey(
                id=ids.new_id(ids.API_KEY),
                partner_id=None,
                role=OPERATOR,
                mode=dep.mode,
                secret_hash=dep.key_hasher.digest(secret),
                last4=secret[-4:],
                created_at=now_text,
                origin=CONFIG_ORIGIN,
            )
            tx.insert_api_key(key)
        elif key.origin != CONFIG_ORIGIN:
            tx.set_api_key_origin(key.id, CONFIG_ORIGIN)
        revoked = []
        for other in tx.list_operator_keys():
            if other.origin == CONFIG_ORIGIN and other.revoked_at is None and other.id != key.id:
                tx.revoke_api_key(other.id, now_text)
                revoked.append(other)
        current = tx.get_api_key(key.id)
        assert current is not None
        return ConfiguredKey(current, tuple(revoked))

    return dep.store.write(work)


def new_operator_key(dep: Deployment, ctx: Ctx) -> IssuedKey:
    """For ``zeropools init``: a fresh operator key, printed once."""
    issued = _new_key(dep, ctx, OPERATOR, None)
    dep.store.write(lambda tx: tx.insert_api_key(issued.key))
    return issued

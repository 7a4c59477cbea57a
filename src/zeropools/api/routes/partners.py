"""Operator: partners and API keys."""

from __future__ import annotations

from fastapi import APIRouter

from zeropools.api.deps import Context, Dep, PageParams
from zeropools.api.openapi import problems
from zeropools.api.schemas import ApiKeyCreate, PartnerCreate
from zeropools.domain import errors as e
from zeropools.representations import models
from zeropools.representations import objects as views
from zeropools.representations.objects import JSON
from zeropools.services import partners

router = APIRouter(tags=["partners"])


@router.post(
    "/v1/partners",
    status_code=201,
    response_model=models.PartnerCreated,
    responses=problems(
        e.AmountInvalid,
        e.AmountPrecisionExceeded,
        e.AmountOutOfRange,
        e.CurrencyNotEnabled,
        body=True,
    ),
)
def create_partner(body: PartnerCreate, dep: Dep, ctx: Context) -> JSON:
    """Onboard a partner (operator). The answer carries its `partner_admin` and
    `partner_server` API keys, shown only this once, and its funding instructions: the
    collection account and an ISO 11649 `RF` reference per currency."""
    created = partners.create_partner(
        dep,
        ctx,
        name=body.name,
        balance_model=body.balance_model,
        currencies=body.currencies,
        low_balance_threshold=body.low_balance_threshold,
    )
    return {
        **views.partner(created.partner, dep.currencies),
        "api_keys": {issued.key.role: issued.secret for issued in created.keys},
        "api_key_ids": {issued.key.role: issued.key.id for issued in created.keys},
        "funding_instructions": [views.funding(fi) for fi in created.funding],
    }


@router.get(
    "/v1/partners",
    response_model=models.ListOf[models.Partner],
    responses=problems(e.NotFound),
)
def list_partners(dep: Dep, ctx: Context, page: PageParams) -> JSON:
    """Every partner, newest first (operator); page with `limit` and `starting_after`."""
    found = partners.list_partners(dep, ctx, page)
    return views.page(found, page.size, lambda p: views.partner(p, dep.currencies))


@router.get(
    "/v1/partners/{partner_id}", response_model=models.Partner, responses=problems(e.NotFound)
)
def get_partner(partner_id: str, dep: Dep, ctx: Context) -> JSON:
    """One partner with its funding instructions (operator; a partner admin for its own)."""
    partner = partners.get_partner(dep, ctx, partner_id)
    return {
        **views.partner(partner, dep.currencies),
        "funding_instructions": [
            views.funding(fi) for fi in partners.instructions_for(dep, partner)
        ],
    }


@router.post(
    "/v1/partners/{partner_id}/api-keys",
    status_code=201,
    response_model=models.ApiKeyCreated,
    responses=problems(e.NotFound, body=True),
)
def create_api_key(partner_id: str, body: ApiKeyCreate, dep: Dep, ctx: Context) -> JSON:
    """Issue another key of a partner role (operator); its `secret` is shown only now."""
    issued = partners.issue_api_key(dep, ctx, partner_id, body.role)
    return views.api_key(issued.key, issued.secret)


@router.get(
    "/v1/partners/{partner_id}/api-keys",
    response_model=models.ListOf[models.ApiKey],
    responses=problems(e.NotFound),
)
def list_api_keys(partner_id: str, dep: Dep, ctx: Context) -> JSON:
    """A partner's API keys without their secrets: role, last four characters, revocation."""
    found = partners.list_api_keys(dep, ctx, partner_id)
    return views.page(found, len(found), views.api_key)


@router.delete(
    "/v1/api-keys/{key_id}",
    response_model=models.ApiKey,
    responses=problems(e.NotFound, e.LastOperatorKey),
)
def revoke_api_key(key_id: str, dep: Dep, ctx: Context) -> JSON:
    """Revoke an API key (operator); it answers 401 from now on. Revoking twice is harmless."""
    return views.api_key(partners.revoke_api_key(dep, ctx, key_id))


@router.get("/v1/operator-keys", response_model=models.ListOf[models.ApiKey], responses=problems())
def list_operator_keys(dep: Dep, ctx: Context) -> JSON:
    """Operator keys without their secrets (``last4``, ``last_used_at``), newest first."""
    found = partners.list_operator_keys(dep, ctx)
    return views.page(found, len(found), views.api_key)


@router.post(
    "/v1/operator-keys",
    status_code=201,
    response_model=models.ApiKeyCreated,
    responses=problems(),
)
def create_operator_key(dep: Dep, ctx: Context) -> JSON:
    """Another operator key; its secret is shown once."""
    issued = partners.issue_operator_key(dep, ctx)
    return views.api_key(issued.key, issued.secret)

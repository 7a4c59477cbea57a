"""Balances, funding instructions and the ledger, as the partner sees them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from zeropools.api.deps import Context, Dep, PageParams
from zeropools.api.openapi import problems
from zeropools.domain import errors as e
from zeropools.domain import limits
from zeropools.domain.ledger import EntryFilter
from zeropools.representations import models
from zeropools.representations import objects as views
from zeropools.representations.objects import JSON
from zeropools.services import balances, ledger, partners

router = APIRouter(tags=["balances"])
PartnerQuery = Annotated[str | None, Query(description="operators: whose resource")]


@router.get(
    "/v1/funding-instructions",
    response_model=models.ListOf[models.FundingInstructions],
    responses=problems(e.NotFound),
)
def funding_instructions(dep: Dep, ctx: Context, partner_id: PartnerQuery = None) -> JSON:
    """How to fund the balance, per currency: the collection IBAN and BIC, the account holder,
    and the partner's ISO 11649 `reference` to put in the transfer (it attributes the money)."""
    found = partners.partner_funding_instructions(dep, ctx, partner_id)
    return views.page(found, len(found), views.funding)


@router.get(
    "/v1/balances",
    response_model=models.ListOf[models.Balance],
    responses=problems(e.NotFound),
)
def list_balances(dep: Dep, ctx: Context, partner_id: PartnerQuery = None) -> JSON:
    """The partner's balance in each of its currencies: `available` (what executions may use),
    `reserved`, `pending` (open trades), `total` and whether it is `low`."""
    found = balances.list_balances(dep, ctx, partner_id)
    return views.page(found, len(found), lambda b: views.balance(b, dep.currencies))


@router.get(
    "/v1/balances/{currency}", response_model=models.Balance, responses=problems(e.NotFound)
)
def get_balance(currency: str, dep: Dep, ctx: Context, partner_id: PartnerQuery = None) -> JSON:
    """The balance in one currency (404 for a currency the partner does not have)."""
    return views.balance(balances.get_balance(dep, ctx, partner_id, currency), dep.currencies)


@router.get(
    "/v1/balances/{currency}/changes",
    response_model=models.BalanceChanges,
    responses=problems(e.NotFound),
)
def balance_changes(
    currency: str,
    dep: Dep,
    ctx: Context,
    from_: Annotated[
        str | None, Query(alias="from", description="RFC 3339; default: today 00:00 UTC")
    ] = None,
    to: Annotated[str | None, Query(description="RFC 3339, excluded; default: now")] = None,
    limit: Annotated[
        int, Query(ge=1, le=limits.PAGE_SIZE_MAX, description="entries listed (all are summed)")
    ] = limits.PAGE_SIZE_DEFAULT,
    partner_id: PartnerQuery = None,
) -> JSON:
    """Why the balance moved: opening, closing, credits, debits, totals by type and the first
    entries; opening + sum(entries) = closing over every entry of the window."""
    view = balances.balance_changes(
        dep,
        ctx,
        partner_id=partner_id,
        currency=currency,
        created_gte=from_,
        created_lt=to,
        page_size=limit,
    )
    return views.balance_changes(view, dep.currencies)


@router.get(
    "/v1/ledger-entries",
    response_model=models.ListOf[models.LedgerEntry],
    responses=problems(e.NotFound),
)
def list_ledger_entries(
    dep: Dep,
    ctx: Context,
    page: PageParams,
    partner_id: PartnerQuery = None,
    currency: Annotated[str | None, Query()] = None,
    type: Annotated[str | None, Query()] = None,
    trade_id: Annotated[str | None, Query()] = None,
    created_gte: Annotated[str | None, Query(description="RFC 3339")] = None,
    created_lt: Annotated[str | None, Query(description="RFC 3339")] = None,
) -> JSON:
    """The partner's ledger, oldest first: every movement of its balance, each entry chained to
    the one before by `prev_hash` and joined to the ids that explain it (trade, quote, pay-in,
    funding reference, the partner's order id, the request). Filters: `currency`, `type`,
    `trade_id`, a `created_gte` / `created_lt` window."""
    where = EntryFilter(
        currency=currency,
        type=type,
        trade_id=trade_id,
        created_gte=ledger.time_bound("created_gte", created_gte),
        created_lt=ledger.time_bound("created_lt", created_lt),
    )
    found = ledger.list_entries(dep, ctx, partner_id, where, page)
    return views.page(found, page.size, lambda e: views.ledger_entry(e, dep.currencies))


@router.get(
    "/v1/ledger-entries/{entry_id}",
    response_model=models.LedgerEntry,
    responses=problems(e.NotFound),
)
def get_ledger_entry(entry_id: str, dep: Dep, ctx: Context) -> JSON:
    """One ledger entry by its `ple_...` id."""
    return views.ledger_entry(ledger.get_entry(dep, ctx, entry_id), dep.currencies)

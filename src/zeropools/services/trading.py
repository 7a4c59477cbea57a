"""Pools, firm quotes, executions and the trade lifecycle.

Quote creation never moves money; execution does. Every trade step is one transaction on the
partner's locked ledger: the domain decides the movements, ``ledger.post`` chains them, the trade
row changes with them, so a trade's status and its entries can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import cast

from zeropools.domain import ids, limits, quotes, trades
from zeropools.domain.clock import from_rfc3339, to_rfc3339
from zeropools.domain.errors import (
    CurrencyNotEnabled,
    DomainError,
    NotFound,
    ValidationFailed,
)
from zeropools.domain.events import TRADE_REFUSED, EventDraft
from zeropools.domain.ledger import EntryDraft, LedgerEntry, Links
from zeropools.domain.paging import Page
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN, PARTNER_SERVER, Partner
from zeropools.domain.pools import Pool
from zeropools.domain.readmodels import Capabilities, QuoteView, TradeView
from zeropools.domain.trades import Refusal, Trade
from zeropools.representations import objects as views
from zeropools.services import dispatch
from zeropools.services.commands import CreateQuote, ExecuteTrade, MoveTrade
from zeropools.services.context import (
    Ctx,
    Deployment,
    require_partner,
    require_role,
    scoped_partner,
)
from zeropools.services.ledger import post, posting_of
from zeropools.store.protocol import Tx

ANY_ROLE = (OPERATOR, PARTNER_ADMIN, PARTNER_SERVER)
# Which actions each target status is, and who may ask for it (API.md "Resources").
ACTION_ROLES = {
    trades.RELEASED: (OPERATOR, PARTNER_ADMIN, PARTNER_SERVER),
    trades.SETTLED: (OPERATOR,),
    trades.FAILED: (OPERATOR,),
    trades.RETURNED: (OPERATOR,),
}


def _text(field: str, value: str | None, required: bool, chars_max: int) -> str | None:
    if value is None or value == "":
        if required:
            raise ValidationFailed.field(field, "required")
        return None
    if len(value) > chars_max:
        raise ValidationFailed.field(field, f"at most {chars_max} characters")
    return value


def list_pools(dep: Deployment, ctx: Ctx) -> tuple[Pool, ...]:
    require_role(ctx, *ANY_ROLE)
    return dep.pools.pools


def _pool(dep: Deployment, pool_id: str) -> Pool:
    pool = dep.pools.pool(pool_id)
    if pool is None:
        raise NotFound(
            f"No pool {pool_id!r}; GET /v1/pools lists them.",
            pool_id=pool_id,
        )
    return pool


def _partner(tx: Tx, partner_id: str) -> Partner:
    partner = tx.get_partner(partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id!r}.")
    return partner


def _enabled_currencies(dep: Deployment, tx: Tx, partner_id: str) -> frozenset[str]:
    """The partner's currencies (NotFound if there is no such partner), read once per process:
    they never change after the partner is created (``Deployment.partner_currencies``)."""
    enabled = dep.partner_currencies.get(partner_id)
    if enabled is None:
        enabled = frozenset(pc.currency for pc in _partner(tx, partner_id).currencies)
        dep.partner_currencies[partner_id] = enabled
    return enabled


def quote_in(dep: Deployment, ctx: Ctx, tx: Tx, command: CreateQuote) -> QuoteView:
    """A firm quote for the caller's partner (operators name it with ``partner_id``)."""
    require_role(ctx, *ANY_ROLE)
    partner_id = scoped_partner(ctx, command.partner_id)
    pool = _pool(dep, command.pool_id)
    order_id = _text(
        "partner_order_id", command.partner_order_id, False, limits.PARTNER_ORDER_ID_CHARS_MAX
    )
    amount_minor = dep.currencies.parse(command.source_amount, pool.source_currency)
    enabled = _enabled_currencies(dep, tx, partner_id)
    if pool.source_currency not in enabled:
        raise CurrencyNotEnabled(
            f"{pool.source_currency} is not enabled for this partner.",
            currency=pool.source_currency,
            enabled=sorted(enabled),
        )
    quote = quotes.price_quote(
        pool,
        dep.pools.rates.rate(pool, ctx.now),
        amount_minor,
        dep.currencies,
        quote_id=ids.new_id(ids.moded_prefix("pq", dep.mode)),
        partner_id=partner_id,
        partner_order_id=order_id,
        now=ctx.now,
        ttl_s=limits.QUOTE_TTL_S,
    )
    quote = replace(quote, request_id=ctx.request_id)  # as a later read will have it
    tx.final_writes()  # checked and priced: the one write below needs no savepoint
    tx.insert_quote(quote, ctx.request_id)
    return QuoteView(quote, quotes.OPEN)


def create_quote(
    dep: Deployment,
    ctx: Ctx,
    *,
    pool_id: str,
    source_amount: object,
    partner_order_id: str | None,
    partner_id: str | None = None,
) -> QuoteView:
    command = CreateQuote(pool_id, source_amount, partner_order_id, partner_id)
    return cast(QuoteView, dispatch.apply(dep, ctx, command))


async def create_quote_async(
    dep: Deployment,
    ctx: Ctx,
    *,
    pool_id: str,
    source_amount: object,
    partner_order_id: str | None,
    partner_id: str | None = None,
) -> QuoteView:
    """``create_quote`` for the API's event loop (the write is handed to the store's writer)."""
    command = CreateQuote(pool_id, source_amount, partner_order_id, partner_id)
    return cast(QuoteView, await dispatch.apply_async(dep, ctx, command))


def get_quote(dep: Deployment, ctx: Ctx, quote_id: str) -> QuoteView:
    actor = require_role(ctx, *ANY_ROLE)
    stored = dep.store.read(lambda tx: tx.get_quote(quote_id))
    if stored is None or (not actor.is_operator and stored.quote.partner_id != actor.partner_id):
        raise quotes.quote_not_found(quote_id)
    return QuoteView(stored.quote, quotes.quote_status(stored.quote, stored.used, ctx.now))


def _drafts(
    trade: Trade, movements: Sequence[trades.Movement], tx: Tx, reason: str | None = None
) -> list[EntryDraft]:
    """Entry drafts for ``movements``; ``reason`` (why a trade was released, failed or
    returned) goes on each entry, so the ledger alone explains the money coming back."""
    earlier: dict[str, LedgerEntry] = {}
    if any(movement.links for movement in movements):  # only unwinds look back
        found = tx.trade_entries(trade.partner_id, [trade.id]).get(trade.id, [])
        earlier = {entry.type: entry for entry in found}
    drafts = []
    for movement in movements:
        related = None
        if movement.links is not None:
            unwound = earlier.get(movement.links)
            assert unwound is not None, f"{trade.id}: no {movement.links} entry to unwind"
            related = unwound.id
        drafts.append(
            EntryDraft(
                type=movement.entry_type,
                currency=trade.currency,
                lines=movement.lines(),
                links=Links(
                    trade_id=trade.id,
                    quote_id=trade.quote_id,
                    related_entry_id=related,
                    partner_order_id=trade.partner_order_id,
                ),
                reason=reason,
            )
        )
    return drafts


def execute_in(dep: Deployment, ctx: Ctx, tx: Tx, command: ExecuteTrade) -> TradeView:
    """Execute a quote inside ``tx``: checks in API.md's order, then reserve or debit.

    Partner keys execute their own quotes; an operator may execute any partner's quote.
    """
    quote_id, partner_order_id = command.quote_id, command.partner_order_id
    actor = require_role(ctx, *ANY_ROLE)
    partner_id = actor.partner_id
    if partner_id is None:
        peek = tx.get_quote(quote_id)
        if peek is None:
            raise quotes.quote_not_found(quote_id)
        partner_id = peek.quote.partner_id
    order_id = _text("partner_order_id", partner_order_id, True, limits.PARTNER_ORDER_ID_CHARS_MAX)
    assert order_id is not None
    dest = _text("destination", command.destination, False, limits.DESTINATION_CHARS_MAX)
    # Lock first: every check below then sees what no concurrent execution can change.
    locked = tx.lock_ledger(partner_id)
    # the quote and the order's trades, read together (one round trip on PostgreSQL)
    stored, order_trades = tx.quote_and_order_trades(
        quote_id, partner_id, order_id, limits.TRADES_PER_ORDER_MAX
    )
    if stored is None:
        raise quotes.quote_not_found(quote_id)
    quotes.check_quote_executable(
        stored.quote, partner_id=partner_id, used=stored.used, now=ctx.now
    )
    quoted_order = stored.quote.partner_order_id
    if quoted_order is not None and quoted_order != order_id:
        raise ValidationFailed(
            f"partner_order_id {order_id!r} differs from the quote's {quoted_order!r}.",
            errors=[{"field": "partner_order_id", "message": f"the quote is for {quoted_order!r}"}],
        )
    # under the lock: two executions of one order cannot both pass this check
    trades.check_order_free(order_id, order_trades)
    change = trades.open_trade(
        stored.quote,
        trade_id=ids.new_id(ids.moded_prefix("pt", dep.mode)),
        partner_order_id=order_id,
        balance_model=locked.balance_model,  # read with the lock: no second read of the partner
        now=ctx.now,
        destination=dest,
    )
    trade = replace(change.trade, request_id=ctx.request_id)
    drafts = _drafts(trade, change.movements, tx)  # an execution unwinds nothing: no read
    # chained before anything is written: a refusal (insufficient_balance) finds nothing to
    # undo, and past this point nothing refuses, so the command needs no savepoint
    posting = posting_of(dep, ctx, partner_id, drafts, locked)
    tx.final_writes()
    # the trade first: the ledger entries name it, and UNIQUE(quote_id) guards reuse again
    tx.insert_trade(trade, ctx.request_id)
    tx.append(posting)
    return TradeView(trade, posting.entries)


def record_refusal(
    dep: Deployment, ctx: Ctx, tx: Tx, command: ExecuteTrade, error: DomainError
) -> list[EventDraft]:
    """Keep a refused execution queryable (``GET /v1/trade-refusals``, support packets) and
    announce it (``trade.refused``)."""
    if ctx.actor is None or ctx.actor.partner_id is None:
        return []  # an operator (or anonymous) refusal belongs to no partner's order
    refusal = Refusal(
        partner_id=ctx.actor.partner_id,
        id=ids.new_id("ptr_"),
        quote_id=command.quote_id,
        partner_order_id=command.partner_order_id,
        code=error.code,
        detail=error.detail,
        request_id=ctx.request_id,
        created_at=to_rfc3339(ctx.now),
    )
    tx.insert_refusal(refusal)
    return [EventDraft(refusal.partner_id, TRADE_REFUSED, views.refusal(refusal))]


def move_in(dep: Deployment, ctx: Ctx, tx: Tx, command: MoveTrade) -> TradeView:
    """Settle, release, fail or return a trade inside ``tx``."""
    trade_id, to_status, reason = command.trade_id, command.to_status, command.reason
    delivered_amount, tx_hash = command.delivered_amount, command.tx_hash
    actor = require_role(ctx, *ACTION_ROLES[to_status])
    found = tx.get_trade(trade_id)
    if found is None or (not actor.is_operator and found.partner_id != actor.partner_id):
        raise NotFound(f"No trade {trade_id!r}.")
    delivered_minor = None
    if delivered_amount is not None:
        delivered_minor = dep.currencies.parse(delivered_amount, found.asset, allow_zero=True)
    # required where the venue reports a problem; optional (and still checked) on a release
    required = to_status in (trades.FAILED, trades.RETURNED)
    reason = _text("reason", reason, required, limits.REASON_CHARS_MAX)
    # the status may have moved since ``found`` was read, unless it was read under the lock
    # already (an earlier command of this batch locked the partner): then no re-read
    read_locked = tx.holds_ledger(found.partner_id)
    locked = tx.lock_ledger(found.partner_id)
    trade = found if read_locked else tx.get_trade(trade_id)
    assert trade is not None
    change = trades.move_trade(
        trade,
        to_status,
        now=ctx.now,
        delivered_amount_minor=delivered_minor,
        tx_hash=_text("tx_hash", tx_hash, False, limits.TX_HASH_CHARS_MAX),
        reason=reason,
    )
    if to_status == trades.SETTLED and delivered_minor is not None:
        trades.check_delivery(
            trade,
            delivered_minor,
            tolerance_bps=dep.delivery_tolerance_bps,
            currencies=dep.currencies,
        )
    drafts = _drafts(trade, change.movements, tx, reason)
    tx.update_trade(change.trade, trade.status)
    if drafts:
        post(dep, ctx, tx, trade.partner_id, drafts, locked)
    entries = tx.trade_entries(trade.partner_id, [trade.id]).get(trade.id, [])
    return TradeView(change.trade, tuple(entries))


def execute_trade(
    dep: Deployment,
    ctx: Ctx,
    *,
    quote_id: str,
    partner_order_id: str | None,
    destination: str | None = None,
) -> TradeView:
    """Execute without an idempotency key (services, tests, the demo)."""
    command = ExecuteTrade(quote_id, partner_order_id, destination)
    return cast(TradeView, dispatch.apply(dep, ctx, command))


def move_trade(
    dep: Deployment,
    ctx: Ctx,
    trade_id: str,
    to_status: str,
    *,
    delivered_amount: object = None,
    tx_hash: str | None = None,
    reason: str | None = None,
) -> TradeView:
    """Move without an idempotency key (services, tests, the venue simulator)."""
    command = MoveTrade(trade_id, to_status, delivered_amount, tx_hash, reason)
    return cast(TradeView, dispatch.apply(dep, ctx, command))


def quote_lane(dep: Deployment, ctx: Ctx, command: CreateQuote) -> str | None:
    """The partner's quotes lane: quotes of one partner share commits with each other, but
    they move no money and take no ledger lock, so they need not wait behind that partner's
    executions (on PostgreSQL the two lanes share merged batches, store/group_commit.py, and a
    thread's write on the trade lane does not hold up the quotes; on SQLite there is one
    writer anyway)."""
    assert ctx.actor is not None
    partner_id = ctx.actor.partner_id or command.partner_id
    return None if partner_id is None else f"{partner_id}/quotes"


def execute_lane(dep: Deployment, ctx: Ctx, command: ExecuteTrade) -> str | None:
    """The partner whose balance the execution touches: the key's, or (operators) the quote's."""
    assert ctx.actor is not None
    if ctx.actor.partner_id is not None:
        return ctx.actor.partner_id
    stored = dep.store.read(lambda tx: tx.get_quote(command.quote_id))
    return stored.quote.partner_id if stored is not None else None


def move_lane(dep: Deployment, ctx: Ctx, command: MoveTrade) -> str | None:
    """The trade's partner, whoever asks: an operator's settle batches with that partner's."""
    assert ctx.actor is not None
    if ctx.actor.partner_id is not None:
        return ctx.actor.partner_id
    found = dep.store.read(lambda tx: tx.trade_partners([command.trade_id]))
    return found.get(command.trade_id)


async def move_lane_async(dep: Deployment, ctx: Ctx, command: MoveTrade) -> str | None:
    """``move_lane`` for a coroutine: an operator's request shares its read with the others
    waiting at the same moment (``lane_lookups``)."""
    assert ctx.actor is not None
    if ctx.actor.partner_id is not None:
        return ctx.actor.partner_id
    return await dep.trade_partners.partner_of(dep.store, command.trade_id)


def due_trades(
    dep: Deployment, created_before: str, limit: int, partner_id: str | None = None
) -> list[Trade]:
    """Open trades older than ``created_before`` (what a venue has to decide), oldest first;
    only ``partner_id``'s when given."""
    if partner_id is None:
        return dep.store.read(lambda tx: tx.open_trades_before(created_before, limit))
    cutoff = from_rfc3339(created_before)

    def work(tx: Tx) -> list[Trade]:
        found: list[Trade] = []
        for status in sorted(trades.PENDING_STATUSES):
            found += tx.list_trades(
                partner_id,
                partner_order_id=None,
                status=status,
                limit=limits.PAGE_SIZE_MAX,
                starting_after=None,
            )
        due = sorted((t for t in found if t.created_at < cutoff), key=lambda t: t.created_at)
        return due[:limit]

    return dep.store.read(work)


def get_trade(dep: Deployment, ctx: Ctx, trade_id: str) -> TradeView:
    actor = require_role(ctx, *ANY_ROLE)

    def work(tx: Tx) -> TradeView | None:
        trade = tx.get_trade(trade_id)
        if trade is None or (not actor.is_operator and trade.partner_id != actor.partner_id):
            return None
        entries = tx.trade_entries(trade.partner_id, [trade.id]).get(trade.id, [])
        return TradeView(trade, tuple(entries))

    view = dep.store.read(work)
    if view is None:
        raise NotFound(f"No trade {trade_id!r}.")
    return view


def list_trades(
    dep: Deployment,
    ctx: Ctx,
    *,
    partner_id: str | None,
    partner_order_id: str | None,
    status: str | None,
    page: Page,
) -> list[TradeView]:
    require_role(ctx, *ANY_ROLE)
    assert ctx.actor is not None
    # operators may list across partners; partner keys only ever see their own
    scoped = partner_id if ctx.actor.is_operator else scoped_partner(ctx, partner_id)
    if status is not None and status not in trades.STATUSES:
        raise ValidationFailed.field("status", f"one of {', '.join(sorted(trades.STATUSES))}")

    def work(tx: Tx) -> list[TradeView]:
        require_partner(tx, scoped)
        found = tx.list_trades(
            scoped,
            partner_order_id=partner_order_id,
            status=status,
            limit=page.limit,
            starting_after=page.starting_after,
        )
        by_partner: dict[str, list[str]] = {}
        for trade in found:
            by_partner.setdefault(trade.partner_id, []).append(trade.id)
        entries: dict[str, list[LedgerEntry]] = {}
        for owner, trade_ids in by_partner.items():
            entries.update(tx.trade_entries(owner, trade_ids))
        return [TradeView(t, tuple(entries.get(t.id, []))) for t in found]

    return dep.store.read(work)


def capabilities(dep: Deployment, ctx: Ctx, partner_id: str | None) -> Capabilities:
    scoped = scoped_partner(ctx, partner_id)
    partner = dep.store.read(lambda tx: _partner(tx, scoped))
    enabled = {pc.currency for pc in partner.currencies}
    pools = tuple(p for p in dep.pools.pools if p.source_currency in enabled)
    funded = tuple(pc.currency for pc in partner.currencies if pc.balance.available_minor > 0)
    return Capabilities(partner, dep.mode, pools, funded)


def list_refusals(
    dep: Deployment, ctx: Ctx, *, partner_id: str | None, partner_order_id: str | None, page: Page
) -> list[Refusal]:
    """Refused executions: why an order did not trade (support starts here)."""
    scoped = scoped_partner(ctx, partner_id)

    def work(tx: Tx) -> list[Refusal]:
        require_partner(tx, scoped)
        return tx.list_refusals(
            scoped,
            partner_order_id=partner_order_id,
            limit=page.limit,
            starting_after=page.starting_after,
        )

    return dep.store.read(work)

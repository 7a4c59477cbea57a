"""Reconciliation rows of a day, and acknowledging the ones that need it.

Rows (``list_rows``): one snapshot streams the day's trades and pay-ins newest first (two
keyset-ordered cursors merged), joins them a batch at a time to their entries and
acknowledgements, and lets the domain say each row's state; the ``state`` filter runs on that
answer, not in SQL, so the rule lives in one place (``domain.reconciliation``). A page costs its
rows plus the rows the filter skipped, never the whole day in memory.

Acknowledging is a command through the door (``Acknowledge``): it re-reads the row inside the
write transaction, lets the domain refuse or acknowledge, stores the fact and announces
``reconciliation.acknowledged``. A second acknowledgement answers the first unchanged, so a
retry without an ``Idempotency-Key`` is harmless. ``AcknowledgeMatched`` is the same for the
trades a partner file reported with their final status (``services.matching``).

Who: operators (any partner; ``?partner_id=`` for lists) and a partner's ``partner_admin``. The
role table of API.md names reconciliation among the admin's powers and not the server key's,
so a ``partner_server`` key gets 403 here.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zeropools.domain import limits
from zeropools.domain import reconciliation as recon
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import NotFound, ValidationFailed
from zeropools.domain.paging import Page
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN, Partner
from zeropools.domain.payins import Payin
from zeropools.domain.reconciliation import ReconRow
from zeropools.domain.trades import Trade
from zeropools.services.commands import Acknowledge, AcknowledgeMatched
from zeropools.services.context import Ctx, Deployment, require_role, scoped_partner
from zeropools.store.protocol import Tx

ROLES = (OPERATOR, PARTNER_ADMIN)
PAYIN_PREFIX = "pin_"
UTC_NAME = "UTC"


@dataclass(frozen=True)
class Window:
    """A day (or days) in a time zone, as ``[start, end)`` in UTC text for the store."""

    first_day: str
    last_day: str
    tz: str
    start: datetime
    end: datetime

    @property
    def created_gte(self) -> str:
        return to_rfc3339(self.start)

    @property
    def created_lt(self) -> str:
        return to_rfc3339(self.end)


@dataclass(frozen=True)
class Acknowledged:
    """What an acknowledgement answers: the row, and whether this request acknowledged it."""

    row: ReconRow
    new: bool


def zone(name: str | None) -> tzinfo:
    """The IANA zone ``name`` (default UTC); 422 naming ``tz`` for anything else."""
    if name is None or name == UTC_NAME:
        return ZoneInfo(UTC_NAME)
    if len(name) > limits.ID_CHARS_MAX:
        raise ValidationFailed.field("tz", f"at most {limits.ID_CHARS_MAX} characters")
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError, OSError):
        raise ValidationFailed.field(
            "tz", "an IANA time zone such as Europe/Berlin", f"tz: {name!r} is not a time zone"
        ) from None


def day_window(date: str | None, tz: str | None, now: datetime) -> Window:
    """The day ``date`` in ``tz`` (default: today there)."""
    zone_info = zone(tz)
    day = recon.parse_day(date) if date is not None else now.astimezone(zone_info).date()
    start, end = recon.day_bounds(day, zone_info)
    return Window(day.isoformat(), day.isoformat(), tz or UTC_NAME, start, end)


# -- rows -------------------------------------------------------------------------------------


def list_rows(
    dep: Deployment,
    ctx: Ctx,
    *,
    partner_id: str | None,
    date: str | None,
    tz: str | None,
    state: str | None,
    pool_id: str | None,
    page: Page,
) -> list[ReconRow]:
    """The day's rows, newest first, ``page.limit`` of them (``Page.of`` fetched one extra)."""
    require_role(ctx, *ROLES)
    scoped = scoped_partner(ctx, partner_id)
    if state is not None and state not in recon.STATES:
        raise ValidationFailed.field("state", f"one of {', '.join(recon.STATES)}")
    window = day_window(date, tz, ctx.now)
    with dep.store.reading() as tx:
        partner = _partner(tx, scoped)
        before = _cursor(tx, partner.id, page.starting_after, window)
        rows = day_rows(tx, partner, window, pool_id=pool_id, before=before)
        if state is not None:
            rows = (row for row in rows if row.state == state)
        return list(islice(rows, page.limit))


def day_rows(
    tx: Tx,
    partner: Partner,
    window: Window,
    *,
    pool_id: str | None = None,
    before: tuple[str, str] | None = None,
) -> Iterator[ReconRow]:
    """Every row of ``window``, newest first, joined a batch at a time (lazily: valid inside
    the read transaction of ``tx``)."""
    trades = tx.stream_trades(
        partner.id,
        created_gte=window.created_gte,
        created_lt=window.created_lt,
        pool_id=pool_id,
        newest_first=True,
        before=before,
    )
    keyed: list[Iterator[tuple[str, str, Trade | Payin]]] = [
        ((to_rfc3339(t.created_at), t.id, t) for t in trades)
    ]
    if pool_id is None:  # pay-ins belong to no pool
        payins = tx.stream_payins(
            partner.id,
            created_gte=window.created_gte,
            created_lt=window.created_lt,
            newest_first=True,
            before=before,
        )
        keyed.append((p.created_at, p.id, p) for p in payins)
    merged = heapq.merge(*keyed, key=lambda item: (item[0], item[1]), reverse=True)
    items = (item for _, _, item in merged)
    while batch := list(islice(items, limits.RECONCILIATION_READ_BATCH_ROWS)):
        yield from joined_rows(tx, partner, batch)


def joined_rows(tx: Tx, partner: Partner, items: Sequence[Trade | Payin]) -> list[ReconRow]:
    """Rows of ``items`` (one partner's), their entries and acknowledgements read at once."""
    trade_ids = [item.id for item in items if isinstance(item, Trade)]
    payin_ids = [item.id for item in items if isinstance(item, Payin)]
    trade_entries = tx.trade_entries(partner.id, trade_ids) if trade_ids else {}
    payin_entries = tx.payin_entries(partner.id, payin_ids) if payin_ids else {}
    acks = tx.acknowledgements(partner.id, [item.id for item in items])
    rows = []
    for item in items:
        if isinstance(item, Trade):
            pc = partner.currency(item.currency)
            reference = pc.funding_reference if pc is not None else None
            entries = trade_entries.get(item.id, [])
            rows.append(recon.trade_row(item, entries, acks.get(item.id), reference))
        else:
            rows.append(recon.payin_row(item, payin_entries.get(item.id, []), acks.get(item.id)))
    return rows


def _partner(tx: Tx, partner_id: str) -> Partner:
    partner = tx.get_partner(partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id!r}.")
    return partner


def _cursor(
    tx: Tx, partner_id: str, starting_after: str | None, window: Window
) -> tuple[str, str] | None:
    """``starting_after`` as a keyset cursor; an id not among the day's rows is a 404 (an
    empty page would read as the end of the day)."""
    if not starting_after:
        return None
    item = _item(tx, starting_after)
    created = None
    if isinstance(item, Trade) and item.partner_id == partner_id:
        created = to_rfc3339(item.created_at)
    elif isinstance(item, Payin) and item.partner_id == partner_id:
        created = item.created_at
    if created is None or not window.created_gte <= created < window.created_lt:
        raise NotFound(
            f"starting_after: no reconciliation row {starting_after!r} on this day.",
            field="starting_after",
        )
    return created, starting_after


def _item(tx: Tx, item_id: str) -> Trade | Payin | None:
    if item_id.startswith(PAYIN_PREFIX):
        return tx.get_payin(item_id)
    return tx.get_trade(item_id)


def item_row(tx: Tx, item_id: str, owner: str | None) -> ReconRow:
    """The row of one trade or pay-in; ``owner`` None: any partner's (operators)."""
    item = _item(tx, item_id)
    if item is None or item.partner_id is None or owner not in (None, item.partner_id):
        raise NotFound(f"No reconciliation row {item_id!r}.")
    return joined_rows(tx, _partner(tx, item.partner_id), [item])[0]


# -- acknowledging ----------------------------------------------------------------------------


def check_note(note: object) -> str:
    if not isinstance(note, str) or not note.strip():
        raise ValidationFailed.field("note", "required: say what was checked")
    if len(note) > limits.ACKNOWLEDGEMENT_NOTE_CHARS_MAX:
        raise ValidationFailed.field(
            "note", f"at most {limits.ACKNOWLEDGEMENT_NOTE_CHARS_MAX} characters"
        )
    return note.strip()


def acknowledge_in(dep: Deployment, ctx: Ctx, tx: Tx, command: Acknowledge) -> Acknowledged:
    actor = require_role(ctx, *ROLES)
    note = check_note(command.note)
    row = item_row(tx, command.item_id, None if actor.is_operator else actor.partner_id)
    fact = recon.acknowledge(
        row,
        by=actor.key_id,
        note=note,
        source=recon.BY_HAND,
        request_id=ctx.request_id,
        now=ctx.now,
    )
    if fact is None:
        return Acknowledged(row, new=False)
    tx.insert_acknowledgement(fact)
    return Acknowledged(recon.with_acknowledgement(row, fact), new=True)


def acknowledge_matched_in(
    dep: Deployment, ctx: Ctx, tx: Tx, command: AcknowledgeMatched
) -> list[ReconRow]:
    """Acknowledge each trade whose file row reported its final status, if it still is in
    that status and nobody acknowledged it since; the rows acknowledged now."""
    actor = require_role(ctx, *ROLES)
    trades = {}
    for trade_id, _, _ in command.trades:
        trade = tx.get_trade(trade_id)
        if trade is not None and trade.partner_id == command.partner_id:
            trades[trade_id] = trade
    partner = _partner(tx, command.partner_id)
    rows = {row.id: row for row in joined_rows(tx, partner, list(trades.values()))}
    done: list[ReconRow] = []
    for trade_id, status, line in command.trades:
        row = rows.get(trade_id)
        if row is None or row.status != status or not row.needs_acknowledgement:
            continue
        fact = recon.acknowledge(
            row,
            by=actor.key_id,
            note=f"matched by line {line} of the partner's order file ({status})",
            source=recon.BY_MATCH,
            request_id=ctx.request_id,
            now=ctx.now,
        )
        if fact is not None:
            tx.insert_acknowledgement(fact)
            done.append(recon.with_acknowledgement(row, fact))
    return done

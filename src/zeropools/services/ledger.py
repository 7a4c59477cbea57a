"""Posting to a partner's ledger, and reading it back.

``post`` is the one path by which entries are written: lock the partner's head, let the domain
chain the drafts, persist. It runs inside the caller's transaction, so the entries commit or
vanish together with whatever else that use case writes (the pay-in row, later the trade).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from zeropools.domain import ledger
from zeropools.domain.clock import from_rfc3339, to_rfc3339
from zeropools.domain.errors import NotFound, ValidationFailed
from zeropools.domain.ledger import EntryDraft, EntryFilter, LedgerEntry, Posting
from zeropools.domain.paging import Page
from zeropools.services.context import Ctx, Deployment, require_partner, scoped_partner
from zeropools.store.protocol import LedgerState, Tx


def post(
    dep: Deployment,
    ctx: Ctx,
    tx: Tx,
    partner_id: str,
    drafts: Sequence[EntryDraft],
    locked: LedgerState | None = None,
) -> Posting:
    """Chain ``drafts`` onto the partner's ledger; ``locked`` is the state of a caller that
    already holds the partner's lock in this transaction (saves two statements)."""
    state = locked if locked is not None else tx.lock_ledger(partner_id)
    posting = posting_of(dep, ctx, partner_id, drafts, state)
    tx.append(posting)
    return posting


def posting_of(
    dep: Deployment, ctx: Ctx, partner_id: str, drafts: Sequence[EntryDraft], locked: LedgerState
) -> Posting:
    """What ``post`` would write, without writing it (``locked``: the state read under the
    partner's lock): a caller that must be refused before it writes anything (an execution
    refused for ``insufficient_balance``) learns it here, then appends with ``tx.append``."""
    assert locked.head.partner_id == partner_id
    return ledger.append(
        locked.head,
        locked.balances,
        drafts,
        currencies=dep.currencies,
        request_id=ctx.request_id,
        now=ctx.now,
    )


def list_entries(
    dep: Deployment, ctx: Ctx, partner_id: str | None, where: EntryFilter, page: Page
) -> list[LedgerEntry]:
    scoped = scoped_partner(ctx, partner_id)
    if where.type is not None and where.type not in ledger.ENTRY_TYPES:
        raise ValidationFailed(
            f"type: {where.type!r} is not an entry type",
            errors=[
                {"field": "type", "message": f"one of {', '.join(sorted(ledger.ENTRY_TYPES))}"}
            ],
        )
    if where.currency is not None and not re.fullmatch(r"[A-Z]{3,5}", where.currency):
        raise ValidationFailed.field(
            "currency",
            "an ISO 4217 code such as EUR",
            f"currency: {where.currency!r} is not a currency code",
        )

    def work(tx: Tx) -> list[LedgerEntry]:
        require_partner(tx, scoped)
        # an unknown cursor would read as "no more entries": a reconciliation that stops early
        if page.starting_after and tx.get_entry(scoped, page.starting_after) is None:
            raise NotFound(
                f"starting_after: no ledger entry {page.starting_after!r} for this partner.",
                field="starting_after",
            )
        return tx.list_entries(scoped, where, page)

    return dep.store.read(work)


def get_entry(dep: Deployment, ctx: Ctx, entry_id: str) -> LedgerEntry:
    assert ctx.actor is not None
    # operators see every partner's entries; partner keys only their own (404 otherwise)
    owner = None if ctx.actor.is_operator else ctx.actor.partner_id
    entry = dep.store.read(lambda tx: tx.get_entry(owner, entry_id))
    if entry is None:
        raise NotFound(f"No ledger entry {entry_id!r}.")
    return entry


def time_bound(field: str, text: str | None) -> str | None:
    """An RFC 3339 filter bound, normalized to the stored form so text order is time order."""
    if text is None:
        return None
    try:
        moment = from_rfc3339(text) if "T" in text.upper() else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise ValidationFailed.field(
            field,
            "RFC 3339 time with offset",
            f"{field}: {text!r} is not an RFC 3339 time such as 2026-11-23T09:15:00Z",
        )
    return to_rfc3339(moment)

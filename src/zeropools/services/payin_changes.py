"""Writing what the pay-in domain decided: postings, pay-in rows and suspense journals.

The domain returns a ``PayinChange``; this module is the one place that turns it into writes,
inside the caller's transaction and always in the same order: the partner's ledger entries
first (a credit's id goes on the pay-in row), then the row, then the platform suspense
journals (they reference the row).
"""

from __future__ import annotations

from collections.abc import Sequence

from zeropools.domain import ledger
from zeropools.domain.payins import Payin, PayinChange
from zeropools.services.context import Ctx, Deployment
from zeropools.services.ledger import post
from zeropools.store.protocol import Tx


def write(dep: Deployment, ctx: Ctx, tx: Tx, change: PayinChange, *, stored: bool) -> Payin:
    """Persist ``change``; ``stored`` says whether its pay-in row exists already."""
    if change.entries:
        assert change.payin.partner_id is not None
        [payin] = write_posted(dep, ctx, tx, change.payin.partner_id, [(change, stored)])
        return payin
    return write_unposted(ctx, tx, change, stored=stored)


def write_posted(
    dep: Deployment,
    ctx: Ctx,
    tx: Tx,
    partner_id: str,
    changes: Sequence[tuple[PayinChange, bool]],
) -> list[Payin]:
    """Persist changes of one partner's pay-ins as one posting, under one lock.

    ``changes`` pairs each change with whether its row is stored; new rows are inserted
    together. Returns the pay-ins as written, in order.
    """
    drafts = [draft for change, _ in changes for draft in change.entries]
    posting = post(dep, ctx, tx, partner_id, drafts)
    entries = iter(posting.entries)
    written, inserts = [], []
    for change, stored in changes:
        assert change.payin.partner_id == partner_id, (change, partner_id)
        payin = change.posted([next(entries) for _ in change.entries])
        if stored:
            tx.update_payin(payin)
        else:
            inserts.append(payin)
        written.append(payin)
    tx.insert_payins(inserts)
    for change, _ in changes:
        _write_suspense(ctx, tx, change)
    return written


def write_unposted(ctx: Ctx, tx: Tx, change: PayinChange, *, stored: bool) -> Payin:
    """Persist a change that posts nothing to a partner (parking, returns, flags)."""
    assert not change.entries, change
    (tx.update_payin if stored else tx.insert_payin)(change.payin)
    _write_suspense(ctx, tx, change)
    return change.payin


def _write_suspense(ctx: Ctx, tx: Tx, change: PayinChange) -> None:
    for move in change.suspense:
        tx.insert_platform_entry(
            ledger.suspense_entry(
                move.kind,
                move.currency,
                move.amount_minor,
                change.payin.id,
                ctx.request_id,
                ctx.now,
            )
        )

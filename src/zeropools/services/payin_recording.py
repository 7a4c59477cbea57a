"""Recording bank credits: each notification becomes a pay-in, booked ones credit or park.

``apply(commands) -> results`` (DESIGN.md): ``record_many`` gives each notification its own
outcome, in order, while sharing the work: known pay-ins and reference owners are read in one
query each, and every partner's credits are chained in one posting under one lock (taken in
partner order, so concurrent imports never deadlock). What each pay-in becomes is the domain's
decision (``domain.payins``: ``open_payin``, ``book``); this module reads, batches and writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from zeropools.domain import ids, payins
from zeropools.domain.errors import PayinConflict
from zeropools.domain.partners import OPERATOR, PARTNER_ADMIN
from zeropools.domain.payins import Payin, PayinChange, PayinNotification
from zeropools.services import dispatch
from zeropools.services.commands import RecordPayin
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.services.payin_changes import write_posted, write_unposted
from zeropools.services.payin_sandbox import check_own_reference, sandbox_notification
from zeropools.store.protocol import Tx


@dataclass(frozen=True)
class Recorded:
    payin: Payin
    created: bool  # False: the bank transaction was already known (a resend)
    booked_now: bool = False  # a known pending pay-in that this notification booked
    attributed_now: bool = False  # a known pay-in the bank's corrected reference attributed


def record_payin(dep: Deployment, ctx: Ctx, note: PayinNotification) -> Recorded:
    """``POST /v1/payins``: an operator's notification, or a partner admin's sandbox top-up."""
    return cast(Recorded, dispatch.apply(dep, ctx, RecordPayin(note)))


def record_command_in(dep: Deployment, ctx: Ctx, tx: Tx, command: RecordPayin) -> Recorded:
    """``RecordPayin`` inside ``tx``: a partner admin's top-up is scoped to its sandbox."""
    actor = require_role(ctx, OPERATOR, PARTNER_ADMIN)
    note = command.note if actor.is_operator else sandbox_notification(ctx, dep, command.note)
    return record_in(dep, ctx, tx, note)


def record_in(dep: Deployment, ctx: Ctx, tx: Tx, note: PayinNotification) -> Recorded:
    """Record one bank credit inside ``tx`` (``record_many`` of one)."""
    [outcome] = record_many(dep, ctx, tx, [note])
    if isinstance(outcome, PayinConflict):
        raise outcome
    return outcome


@dataclass(frozen=True)
class _Booking:
    index: int
    change: PayinChange
    stored: bool  # the pay-in row exists already (a pending one now booked)
    attributed_now: bool = False  # out of suspense by a corrected reference, not a booking


def record_many(
    dep: Deployment, ctx: Ctx, tx: Tx, notes: Sequence[PayinNotification]
) -> list[Recorded | PayinConflict]:
    """Record bank credits inside ``tx``; credit their partners once booked and attributed.

    Idempotent on ``bank_transaction_id``: a resend changes nothing, a resend that is now
    ``booked`` credits the pending pay-in once, a resend whose corrected reference names the
    partner of a pay-in nobody has yet attributes it (``payins.correct_reference``), and a
    resend with other money, or another reference once attributed, is a ``PayinConflict``
    outcome (the others still apply).
    """
    known = tx.payins_by_bank_ids(sorted({note.bank_transaction_id for note in notes}))
    owners = tx.reference_owners(sorted(payins.candidate_references(notes)))
    results: list[Recorded | PayinConflict | None] = [None] * len(notes)
    credits: dict[str, list[_Booking]] = {}
    for index, note in enumerate(notes):
        prior = known.get(note.bank_transaction_id)
        if prior is None:
            payin = payins.open_payin(
                note,
                owners.get,
                payin_id=ids.new_id(ids.PAYIN),
                request_id=ctx.request_id,
                currency_known=note.currency in dep.currencies.scales,
                now=ctx.now,
            )
            check_own_reference(ctx, payin)
            known[note.bank_transaction_id] = payin
            if note.booking_status != payins.BOOKED:
                tx.insert_payin(payin)
                results[index] = Recorded(payin, created=True)
                continue
            stored = False
        else:
            try:
                payins.check_resend(prior, note)
            except PayinConflict as conflict:
                results[index] = conflict
                continue
            try:
                corrected = payins.correct_reference(prior, note, owners.get, now=ctx.now)
            except PayinConflict as conflict:
                results[index] = conflict
                continue
            if isinstance(corrected, PayinChange):
                # parked money the bank's corrected reference now names: out of suspense
                assert corrected.payin.partner_id is not None
                booking = _Booking(index, corrected, stored=True, attributed_now=True)
                credits.setdefault(corrected.payin.partner_id, []).append(booking)
                known[note.bank_transaction_id] = corrected.payin
                continue
            if not payins.resend_books(corrected, note):
                if corrected is not prior:
                    tx.update_payin(corrected)  # attributed now, credited once booked
                    known[note.bank_transaction_id] = corrected
                results[index] = Recorded(
                    corrected, created=False, attributed_now=corrected is not prior
                )
                continue
            payin, stored = corrected, True
        change = payins.book(payin, now=ctx.now)
        if change.step == payins.PARK:
            # booked but not attributable: the money waits in the platform's suspense account
            parked = write_unposted(ctx, tx, change, stored=stored)
            known[note.bank_transaction_id] = parked
            results[index] = Recorded(parked, created=not stored, booked_now=stored)
        else:
            assert change.payin.partner_id is not None
            credits.setdefault(change.payin.partner_id, []).append(_Booking(index, change, stored))
            # a repeat of this bank id later in the batch is a resend of a credited pay-in
            known[note.bank_transaction_id] = change.payin
    for partner_id in sorted(credits):
        bookings = credits[partner_id]
        # one posting for all of a partner's credits (invariant 6: booked, and once: a unique
        # index on each pay-in's ``payin_credit`` enforces it again)
        written = write_posted(
            dep, ctx, tx, partner_id, [(item.change, item.stored) for item in bookings]
        )
        for item, credited in zip(bookings, written, strict=True):
            results[item.index] = Recorded(
                credited,
                created=not item.stored,
                booked_now=item.stored and not item.attributed_now,
                attributed_now=item.attributed_now,
            )
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]

"""Which handler applies each command: the table ``dispatch`` reads.

Each entry names the function that does the work inside the transaction, the representation
its result is answered (and, for events, published) as, and the lane it is scheduled on.
"""

from __future__ import annotations

from typing import Any

from zeropools.domain.errors import DomainError
from zeropools.domain.events import RECONCILIATION_ACKNOWLEDGED, EventDraft
from zeropools.domain.reconciliation import ReconRow
from zeropools.representations import objects as views
from zeropools.services import (
    adjustments,
    events,
    partners,
    payins,
    periods,
    reconciliation,
    trading,
    webhook_delivery,
    webhook_endpoints,
)
from zeropools.services.commands import (
    Acknowledge,
    AcknowledgeMatched,
    Adjust,
    AttributePayin,
    ClaimWebhookWork,
    ClosePeriod,
    CreatePartner,
    CreateQuote,
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    ExecuteTrade,
    IssueApiKey,
    MoveTrade,
    NoteKeyUse,
    RecordPayin,
    RecordPayins,
    RecordWebhookAttempt,
    RequestRedelivery,
    ReturnPayin,
    RevokeApiKey,
    RotateWebhookSecret,
)
from zeropools.services.context import Ctx, Deployment
from zeropools.services.dispatch import Handler
from zeropools.store.protocol import Tx


def _attribute(dep: Deployment, ctx: Ctx, tx: Tx, c: AttributePayin) -> Any:
    return payins.attribute_in(dep, ctx, tx, c.payin_id, c.partner_id)


def _return(dep: Deployment, ctx: Ctx, tx: Tx, c: ReturnPayin) -> Any:
    return payins.return_in(dep, ctx, tx, c.payin_id, c.reason)


def _return_lane(dep: Deployment, ctx: Ctx, c: ReturnPayin) -> str | None:
    """A recall debits the credited partner; a return from suspense touches no partner."""
    payin = dep.store.read(lambda tx: tx.get_payin(c.payin_id))
    return payin.partner_id if payin is not None else None


def _flag_refused_recall(
    dep: Deployment, ctx: Ctx, tx: Tx, c: ReturnPayin, refusal: DomainError
) -> list[EventDraft]:
    payins.flag_refused_recall(ctx, c.payin_id)(tx, refusal)
    return []


def _recorded_event(dep: Deployment, recorded: payins.Recorded) -> list[EventDraft]:
    # a resend of a known pay-in announces nothing; a first sight, a booking or an attribution does
    announced = recorded.created or recorded.booked_now or recorded.attributed_now
    return events.payin_event(dep, recorded.payin, announced=announced)


def _recorded_events(dep: Deployment, outcomes: list[Any]) -> list[EventDraft]:
    found: list[EventDraft] = []
    for outcome in outcomes:
        if isinstance(outcome, payins.Recorded):
            found += _recorded_event(dep, outcome)
    return found


def _adjust(dep: Deployment, ctx: Ctx, tx: Tx, c: Adjust) -> Any:
    return adjustments.adjust_in(
        dep, ctx, tx, partner_id=c.partner_id, currency=c.currency, amount=c.amount, reason=c.reason
    )


def _record_many(dep: Deployment, ctx: Ctx, tx: Tx, c: RecordPayins) -> Any:
    return payins.record_many(dep, ctx, tx, list(c.notes))


def _own_partner(dep: Deployment, ctx: Ctx, c: Any) -> str | None:
    return ctx.actor.partner_id if ctx.actor is not None else None


def _payin_view(dep: Deployment, recorded: payins.Recorded) -> dict[str, Any]:
    return views.payin(recorded.payin, dep.currencies)


def _acknowledged_events(dep: Deployment, rows: list[ReconRow]) -> list[EventDraft]:
    return [
        EventDraft(
            row.partner_id,
            RECONCILIATION_ACKNOWLEDGED,
            views.reconciliation_row(row, dep.currencies),
        )
        for row in rows
    ]


def _acknowledged_event(dep: Deployment, result: reconciliation.Acknowledged) -> list[EventDraft]:
    # a repeat answers the first acknowledgement and announces nothing
    return _acknowledged_events(dep, [result.row]) if result.new else []


HANDLERS: dict[type, Handler[Any, Any]] = {
    CreateQuote: Handler(
        run=trading.quote_in,
        present=lambda dep, view: views.quote(view, dep.currencies),
        status=201,
        lane=trading.quote_lane,
        own_lane=True,
    ),
    ExecuteTrade: Handler(
        run=trading.execute_in,
        present=lambda dep, view: views.trade(view, dep.currencies),
        status=201,
        lane=trading.execute_lane,
        own_lane=True,
        announce=events.trade_event,
        on_refusal=trading.record_refusal,
    ),
    MoveTrade: Handler(
        run=trading.move_in,
        present=lambda dep, view: views.trade(view, dep.currencies),
        lane=trading.move_lane,
        lane_async=trading.move_lane_async,
        announce=events.trade_event,
    ),
    RecordPayin: Handler(
        run=payins.record_command_in,
        present=_payin_view,
        status=201,
        lane=_own_partner,  # a sandbox top-up; a bank credit's partner is known only inside
        announce=_recorded_event,
    ),
    RecordPayins: Handler(run=_record_many, announce=_recorded_events),
    AttributePayin: Handler(
        run=_attribute,
        present=lambda dep, payin: views.payin(payin, dep.currencies),
        lane=lambda dep, ctx, c: c.partner_id,
        announce=events.payin_event,
    ),
    ReturnPayin: Handler(
        run=_return,
        present=lambda dep, payin: views.payin(payin, dep.currencies),
        lane=_return_lane,
        announce=events.payin_event,
        on_refusal=_flag_refused_recall,
    ),
    Adjust: Handler(
        run=_adjust,
        present=lambda dep, entry: views.ledger_entry(entry, dep.currencies),
        status=201,
        lane=lambda dep, ctx, c: c.partner_id,
        announce=events.adjustment_event,
    ),
    Acknowledge: Handler(
        run=reconciliation.acknowledge_in,
        present=lambda dep, result: views.reconciliation_row(result.row, dep.currencies),
        announce=_acknowledged_event,
    ),
    AcknowledgeMatched: Handler(
        run=reconciliation.acknowledge_matched_in, announce=_acknowledged_events
    ),
    ClosePeriod: Handler(
        run=periods.close_in,
        present=lambda dep, closed: views.period(closed.period, dep.currencies),
        lane=periods.close_lane,
        announce=periods.announce,
    ),
    CreatePartner: Handler(run=partners.create_partner_in, status=201),
    IssueApiKey: Handler(run=partners.issue_api_key_in, status=201),
    RevokeApiKey: Handler(run=partners.revoke_api_key_in),
    NoteKeyUse: Handler(run=partners.note_key_use_in),
    # webhooks: configuration and delivery state, no balance touched, so no lane
    CreateWebhookEndpoint: Handler(run=webhook_endpoints.create_in, status=201),
    DeleteWebhookEndpoint: Handler(run=webhook_endpoints.delete_in),
    RotateWebhookSecret: Handler(run=webhook_endpoints.rotate_in),
    RequestRedelivery: Handler(run=webhook_delivery.redeliver_in, status=202),
    ClaimWebhookWork: Handler(run=webhook_delivery.claim_in),
    RecordWebhookAttempt: Handler(run=webhook_delivery.record_in),
}

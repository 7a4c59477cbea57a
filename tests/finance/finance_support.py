"""Helpers of the finance-close tests: a past day of activity built on the domain clock.

Kept free of pytest. Everything happens at explicit times (``ctx_for(..., now=...)``), in time
order, so a day's entries are contiguous in the partner's chain as they are in production.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from support import ctx_for, onboard, send_payin
from zeropools.domain import ids
from zeropools.services import dispatch, trading
from zeropools.services.commands import Acknowledge
from zeropools.services.context import Deployment


def past_day(days_ago: int = 2) -> datetime:
    """Midnight UTC of a day that has ended."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


@dataclass
class Day:
    dep: Deployment
    partner_id: str
    reference: str
    start: datetime
    minute: int = 0

    def at(self) -> datetime:
        self.minute += 1
        return self.start + timedelta(hours=8, minutes=self.minute)

    @property
    def date(self) -> str:
        return self.start.date().isoformat()

    def fund(self, amount: str) -> str:
        recorded = send_payin(
            self.dep,
            f"bank-{secrets.token_hex(6)}",
            amount,
            reference=self.reference,
            ctx=ctx_for(now=self.at()),
        )
        assert recorded.payin.status == "credited"
        return recorded.payin.id

    def trade(self, amount: str) -> str:
        now = self.at()
        server = ctx_for("partner_server", self.partner_id, now)
        quote = trading.create_quote(
            self.dep, server, pool_id="EUR-USDT", source_amount=amount, partner_order_id=None
        )
        view = trading.execute_trade(
            self.dep,
            server,
            quote_id=quote.quote.id,
            partner_order_id=f"order-{ids.new_id('o_')}",
        )
        return view.trade.id

    def move(self, trade_id: str, to_status: str, reason: str | None = None) -> None:
        role = "partner_server" if to_status == "released" else "operator"
        ctx = ctx_for(role, self.partner_id if role != "operator" else None, self.at())
        trading.move_trade(self.dep, ctx, trade_id, to_status, reason=reason)


def new_day(dep: Deployment, days_ago: int = 2, balance_model: str = "debit") -> Day:
    new = onboard(dep, balance_model=balance_model)
    pc = new.partner.currency("EUR")
    assert pc is not None
    return Day(dep, new.partner.id, pc.funding_reference, past_day(days_ago))


def brief_day(day: Day) -> dict[str, str]:
    """Credits, trades, a release, a failure and a return: the issue's "done when" day."""
    day.fund("1000.00")
    released = day.trade("100.00")
    day.move(released, "released")
    failed = day.trade("200.00")
    day.move(failed, "failed", reason="venue rejected")
    returned = day.trade("50.00")
    day.move(returned, "settled")
    day.move(returned, "returned", reason="destination refused")
    return {"released": released, "failed": failed, "returned": returned}


def acknowledge(dep: Deployment, partner_id: str, object_id: str, kind: str = "trade") -> None:
    """The partner admin acknowledges a failed or returned trade (or a recalled pay-in) the way
    reconciliation does it: the ``Acknowledge`` command (``kind`` is read off the item)."""
    dispatch.apply(
        dep, ctx_for("partner_admin", partner_id), Acknowledge(object_id, "checked the refund")
    )

"""Helpers of the reconciliation tests: a partner's day built through the services, on a clock.

Every step runs as its own request (a fresh request id) at a time the test chooses, through the
same commands the API sends, so a day can be laid out on 2026-11-23 whatever today is and the
reconciliation reads (by day, by request, by time) see what production would write.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from support import ctx_for, onboard, reference_of, send_payin
from zeropools.domain.payins import Payin
from zeropools.domain.trades import Trade
from zeropools.services import dispatch, trading
from zeropools.services.commands import ReturnPayin
from zeropools.services.context import Ctx, Deployment
from zeropools.services.partners import NewPartner

DAY = date(2026, 11, 23)
DAY_TEXT = DAY.isoformat()
DAY_BEFORE = date(2026, 11, 22)


def at(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


@dataclass
class Book:
    """One partner, and what happened to it, step by step."""

    dep: Deployment
    new: NewPartner
    _bank_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def open(cls, dep: Deployment, balance_model: str = "debit", name: str = "Acme") -> Book:
        return cls(dep, onboard(dep, name=name, balance_model=balance_model))

    @property
    def partner_id(self) -> str:
        return self.new.partner.id

    @property
    def reference(self) -> str:
        return reference_of(self.new)

    def secret(self, role: str) -> str:
        return next(k.secret for k in self.new.keys if k.key.role == role)

    def admin(self, now: datetime | None = None) -> Ctx:
        return ctx_for("partner_admin", self.partner_id, now)

    def server(self, now: datetime | None = None) -> Ctx:
        return ctx_for("partner_server", self.partner_id, now)

    def fund(self, amount: str, when: datetime) -> Payin:
        recorded = send_payin(
            self.dep,
            f"bank-{self.partner_id}-{next(self._bank_ids)}",
            amount,
            reference=self.reference,
            ctx=ctx_for("operator", now=when),
        )
        assert recorded.payin.status == "credited", recorded.payin
        return recorded.payin

    def recall(self, payin_id: str, when: datetime) -> Payin:
        payin: Payin = dispatch.apply(
            self.dep, ctx_for("operator", now=when), ReturnPayin(payin_id, "bank recall")
        )
        return payin

    def trade(self, amount: str, order: str, when: datetime, pool_id: str = "EUR-USDT") -> Trade:
        """Quote, then execute a second later, each its own request."""
        quote = trading.create_quote(
            self.dep,
            self.server(when),
            pool_id=pool_id,
            source_amount=amount,
            partner_order_id=order,
        )
        view = trading.execute_trade(
            self.dep,
            self.server(when + timedelta(seconds=1)),
            quote_id=quote.quote.id,
            partner_order_id=order,
        )
        return view.trade

    def move(
        self, trade_id: str, status: str, when: datetime, reason: str = "venue said so"
    ) -> Trade:
        role = "partner_server" if status == "released" else "operator"
        ctx = ctx_for(role, self.partner_id if role != "operator" else None, when)
        needs_reason = status in ("failed", "returned")
        view = trading.move_trade(
            self.dep, ctx, trade_id, status, reason=reason if needs_reason else None
        )
        return view.trade

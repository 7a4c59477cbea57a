"""The ledger agrees with a simple balance model after every step of random trading.

Goal: DESIGN.md's ledger invariants under any interleaving of funding, execution and lifecycle
steps, for one partner of each balance model: (1) every journal's lines sum to zero, so per
currency all accounts sum to zero, and the partner's total (available + reserved) equals its
credits minus the trades that consumed money and were not returned; (2) ``available >= 0``;
(3) stored balances equal the sum of the entries; plus ``verify`` finding nothing, ``pending``
counting exactly the open trades, each trade's stored status matching the model, and refusals
(``insufficient_balance``, ``invalid_transition``) changing nothing at all.

Method: a hypothesis ``RuleBasedStateMachine`` on a fresh SQLite deployment per example, driving
``services.payins`` and ``services.trading`` (quote + execute of 10.00..400.00, settle, release,
fail, return on random existing trades) next to a model that is only a dict of trade statuses and
a credit total. The model's transition table is written out independently of
``domain.trades.TRANSITIONS``; everything is checked after every step.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from support import (
    ctx_for,
    entries_of,
    fund,
    new_partner_id,
    open_test_store,
    quote,
    server_ctx,
    sized,
    sqlite_url,
)
from zeropools import bootstrap
from zeropools.config import Settings
from zeropools.domain.errors import InsufficientBalance, InvalidTransition
from zeropools.domain.money import format_amount
from zeropools.services import balances, trading
from zeropools.services.verify import verify

MODELS = ("debit", "reserve")
OPENING_STATUS = {"debit": "debited", "reserve": "reserved"}
# API.md's lifecycle, written out again rather than imported: the model must not share a bug.
ALLOWED = {
    "debited": {"settled", "released", "failed"},
    "reserved": {"settled", "released", "failed"},
    "settled": {"returned"},
    "released": set(),
    "failed": set(),
    "returned": set(),
}
PICKS = st.integers(0, 10_000)  # an index into the trades, modulo their number
# mostly pick a trade that can still move, so runs reach every status, sometimes any trade
OPEN_ONLY = st.sampled_from([True, True, True, False])
# Statuses whose money has left the partner: debited at acceptance, or settled (either model).
CONSUMED = {"debited", "settled"}
PENDING = {"debited", "reserved"}


@dataclass
class ModelTrade:
    id: str
    partner_id: str
    amount_minor: int
    status: str


class TradingModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="zp_model_"))
        url = sqlite_url(self.tmp, "model.db")
        self.store = open_test_store(url)
        self.dep = bootstrap.deployment(Settings(db_url=url), self.store)
        self.partners = {model: new_partner_id(self.dep, model, name=model) for model in MODELS}
        self.credits_minor = dict.fromkeys(self.partners.values(), 0)
        self.trades: list[ModelTrade] = []

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the model ---------------------------------------------------------------------------
    def _sum(self, partner_id: str, statuses: set[str]) -> int:
        return sum(
            t.amount_minor
            for t in self.trades
            if t.partner_id == partner_id and t.status in statuses
        )

    def expected(self, partner_id: str) -> tuple[int, int]:
        """``(available, reserved)`` the model predicts."""
        reserved = self._sum(partner_id, {"reserved"})
        total = self.credits_minor[partner_id] - self._sum(partner_id, CONSUMED)
        return total - reserved, reserved

    def snapshot(self) -> Any:
        """Everything a refusal must leave alone: heads, balances and every trade's status."""

        def read(tx: Any) -> Any:
            states = {pid: tx.ledger_state(pid) for pid in self.partners.values()}
            statuses = {t.id: tx.get_trade(t.id).status for t in self.trades}
            return states, statuses

        return self.store.read(read)

    # -- rules -------------------------------------------------------------------------------
    @initialize(
        debit_minor=st.integers(0, 2_000_00),
        reserve_minor=st.integers(0, 2_000_00),
        first_trade_minor=st.integers(10_00, 400_00),
    )
    def opening(self, debit_minor: int, reserve_minor: int, first_trade_minor: int) -> None:
        # Start funded and with a trade per partner (when the funds allow it): with only 20
        # examples, short runs would otherwise spend their steps on empty ledgers.
        for model, amount_minor in (("debit", debit_minor), ("reserve", reserve_minor)):
            if amount_minor:
                self.credit(model, amount_minor)
            self.execute(model, first_trade_minor)

    @rule(model=st.sampled_from(MODELS), amount_minor=st.integers(1_00, 2_000_00))
    def credit(self, model: str, amount_minor: int) -> None:
        partner_id = self.partners[model]
        fund(self.dep, partner_id, format_amount(amount_minor, 2))
        self.credits_minor[partner_id] += amount_minor

    @rule(model=st.sampled_from(MODELS), amount_minor=st.integers(10_00, 400_00))
    def execute(self, model: str, amount_minor: int) -> None:
        partner_id = self.partners[model]
        quote_id = quote(self.dep, partner_id, format_amount(amount_minor, 2))
        available, _ = self.expected(partner_id)

        def run() -> trading.TradeView:
            return trading.execute_trade(
                # one order per quote: an order with an open trade is never executed again
                self.dep,
                server_ctx(partner_id),
                quote_id=quote_id,
                partner_order_id=quote_id,
            )

        if amount_minor > available:
            event("execute: refused for insufficient balance")
            before = self.snapshot()
            with pytest.raises(InsufficientBalance):
                run()
            assert self.snapshot() == before
            return
        event("execute: accepted")
        view = run()
        assert (view.trade.status, view.trade.source_amount_minor) == (
            OPENING_STATUS[model],
            amount_minor,
        )
        self.trades.append(ModelTrade(view.trade.id, partner_id, amount_minor, view.trade.status))

    def _move(self, pick: int, open_only: bool, action: str) -> None:
        """Move a random existing trade (an open one when ``open_only`` and there is one)."""
        candidates = [t for t in self.trades if ALLOWED[t.status]] if open_only else []
        candidates = candidates or self.trades
        if not candidates:
            event("move: no trade yet")
            return
        trade = candidates[pick % len(candidates)]
        # release is the partner's action; the venue outcomes are the operator's
        ctx = server_ctx(trade.partner_id) if action == "released" else ctx_for()
        reason = "venue said so" if action in ("failed", "returned") else None

        def run() -> trading.TradeView:
            return trading.move_trade(self.dep, ctx, trade.id, action, reason=reason)

        if action not in ALLOWED[trade.status]:
            event("move: invalid transition refused")
            before = self.snapshot()
            with pytest.raises(InvalidTransition) as refused:
                run()
            assert refused.value.extra == {"from_status": trade.status, "to_status": action}
            assert self.snapshot() == before
            return
        event(f"move: {trade.status} -> {action}")
        view = run()
        assert view.trade.status == action
        trade.status = action

    @rule(pick=PICKS, open_only=OPEN_ONLY)
    def settle(self, pick: int, open_only: bool) -> None:
        self._move(pick, open_only, "settled")

    @rule(pick=PICKS, open_only=OPEN_ONLY)
    def release(self, pick: int, open_only: bool) -> None:
        self._move(pick, open_only, "released")

    @rule(pick=PICKS, open_only=OPEN_ONLY)
    def fail(self, pick: int, open_only: bool) -> None:
        self._move(pick, open_only, "failed")

    @rule(pick=PICKS, open_only=OPEN_ONLY)
    def return_(self, pick: int, open_only: bool) -> None:
        self._move(pick, open_only, "returned")

    # -- invariants --------------------------------------------------------------------------
    @invariant()
    def balances_match_the_model_and_never_go_negative(self) -> None:
        for partner_id in self.partners.values():
            state = self.store.read(lambda tx, pid=partner_id: tx.ledger_state(pid))
            stored = state.balances["EUR"]
            expected_available, expected_reserved = self.expected(partner_id)
            assert stored.available_minor >= 0
            assert stored.reserved_minor >= 0
            assert (stored.available_minor, stored.reserved_minor) == (
                expected_available,
                expected_reserved,
            )
            # total = credits - money consumed by trades that were not returned
            assert stored.total_minor == self.credits_minor[partner_id] - self._sum(
                partner_id, CONSUMED
            )
            view = balances.get_balance(self.dep, server_ctx(partner_id), None, "EUR")
            assert view.pending_minor == self._sum(partner_id, PENDING)

    @invariant()
    def journals_balance_and_stored_balances_equal_the_sum_of_entries(self) -> None:
        for partner_id in self.partners.values():
            accounts: dict[str, int] = {}
            entries = entries_of(self.dep, partner_id)
            assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
            for entry in entries:
                assert sum(line.amount_minor for line in entry.lines) == 0, entry
                for line in entry.lines:
                    accounts[line.account] = accounts.get(line.account, 0) + line.amount_minor
            available, reserved = self.expected(partner_id)
            assert accounts.get("available", 0) == available
            assert accounts.get("reserved", 0) == reserved
            assert accounts.get("platform:bank", 0) == -self.credits_minor[partner_id]
            assert accounts.get("platform:venue", 0) == self._sum(partner_id, CONSUMED)
            assert sum(accounts.values()) == 0

    @invariant()
    def stored_trades_match_the_model(self) -> None:
        stored = self.store.read(lambda tx: {t.id: tx.get_trade(t.id) for t in self.trades})
        for trade in self.trades:
            assert stored[trade.id].status == trade.status

    @invariant()
    def verify_finds_nothing(self) -> None:
        report = verify(self.store)
        assert report.ok, report.problems


TradingModel.TestCase.settings = settings(
    max_examples=sized(10, 200), stateful_step_count=25, deadline=None, database=None
)
TestTheLedgerAgreesWithTheBalanceModelAfterEveryStep = pytest.mark.soak(TradingModel.TestCase)

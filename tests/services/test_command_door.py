"""Commands through one door: applied without HTTP, on the touched partner's lane, shed when full.

Goal: every write goes through ``dispatch.apply`` / ``apply_idempotent``; a money-moving command
runs from a unit test with no HTTP; group commit keys a write by the partner whose balance it
touches, so an operator's settle shares a commit with that partner's other writes; and a full
lane refuses at once with ``Overloaded`` (503 ``overloaded`` with ``Retry-After`` over HTTP)
having done nothing, not even claiming the Idempotency-Key.
Method: real stores (SQLite and PostgreSQL) under a ``GroupCommitStore``; a write that holds the
lane's leadership on an event makes the queue state deterministic; the inner store is wrapped to
count its transactions.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from support import (
    app_client,
    balance_minor,
    bearer,
    ctx_for,
    entries_of,
    onboard,
    reference_of,
    send_payin,
)
from zeropools.domain import trades
from zeropools.domain.errors import InsufficientBalance, Overloaded
from zeropools.domain.paging import Page
from zeropools.services import dispatch, trading
from zeropools.services.commands import ExecuteTrade, MoveTrade
from zeropools.services.context import Deployment
from zeropools.services.partners import NewPartner
from zeropools.store.group_commit import GroupCommitStore
from zeropools.store.protocol import Store, Tx

WAIT_S = 10.0


class CountingStore:
    """The real store, counting its write transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.url, self.dialect = store.url, store.dialect
        self.writes = 0

    def write(self, work: Callable[[Tx], Any], lane: str | None = None) -> Any:
        self.writes += 1
        return self.store.write(work)

    def read(self, work: Callable[[Tx], Any]) -> Any:
        return self.store.read(work)


def fund(dep: Deployment, new: NewPartner, amount: str) -> None:
    send_payin(dep, f"bank-{uuid.uuid4()}", amount, reference=reference_of(new))


def _wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.005)


def _queued(grouped: GroupCommitStore, lane: str) -> int:
    with grouped._lock:
        return len(grouped._queues.get(lane, ()))


def test_a_money_moving_command_runs_from_a_unit_test_without_http(dep: Deployment) -> None:
    new = onboard(dep)
    partner_id = new.partner.id
    fund(dep, new, "100.00")
    server = ctx_for("partner_server", partner_id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="30.00", partner_order_id=None
    )

    view = dispatch.apply(dep, server, ExecuteTrade(quote.quote.id, "order-1"))

    assert view.trade.status == trades.DEBITED
    assert [e.type for e in entries_of(dep, partner_id)] == ["payin_credit", "buy_debit"]
    assert balance_minor(dep, partner_id) == (70_00, 0)


def test_a_refused_execution_is_recorded_and_raised_on_the_plain_path_too(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    fund(dep, new, "10.00")
    server = ctx_for("partner_server", new.partner.id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="30.00", partner_order_id=None
    )

    with pytest.raises(InsufficientBalance):
        dispatch.apply(dep, server, ExecuteTrade(quote.quote.id, "order-2"))

    refusals = trading.list_refusals(
        dep, server, partner_id=None, partner_order_id="order-2", page=_page()
    )
    assert [r.code for r in refusals] == ["insufficient_balance"]
    assert balance_minor(dep, new.partner.id) == (10_00, 0)


def test_an_operator_move_is_laned_on_the_trades_partner(dep: Deployment) -> None:
    new = onboard(dep)
    fund(dep, new, "100.00")
    server = ctx_for("partner_server", new.partner.id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="10.00", partner_order_id=None
    )
    trade = trading.execute_trade(dep, server, quote_id=quote.quote.id, partner_order_id="o-3")
    operator = ctx_for("operator")
    settle = MoveTrade(trade.trade.id, trades.SETTLED)

    assert dispatch.handler_of(settle).lane(dep, operator, settle) == new.partner.id
    execute = ExecuteTrade(quote.quote.id, "o-3")
    assert dispatch.handler_of(execute).lane(dep, operator, execute) == new.partner.id


def test_operator_settles_of_one_partner_share_a_commit(store: Store, dep: Deployment) -> None:
    new = onboard(dep)
    fund(dep, new, "1000.00")
    server = ctx_for("partner_server", new.partner.id)
    trade_ids = []
    for i in range(6):
        quote = trading.create_quote(
            dep, server, pool_id="EUR-USDT", source_amount="10.00", partner_order_id=None
        )
        trade_ids.append(
            trading.execute_trade(
                dep, server, quote_id=quote.quote.id, partner_order_id=f"o-{i}"
            ).trade.id
        )
    counting = CountingStore(store)
    grouped = GroupCommitStore(counting)  # type: ignore[arg-type]
    laned = replace(dep, store=grouped)
    release = threading.Event()

    def hold(tx: Tx) -> None:
        release.wait(WAIT_S)  # the lane's leader, while the settles queue up behind it

    holder = threading.Thread(target=grouped.write, args=(hold, new.partner.id))
    holder.start()
    _wait_until(lambda: new.partner.id in grouped._leading)
    errors: list[BaseException] = []

    def settle(trade_id: str) -> None:
        try:
            trading.move_trade(laned, ctx_for("operator"), trade_id, trades.SETTLED)
        except BaseException as exc:  # reported below
            errors.append(exc)

    settlers = [threading.Thread(target=settle, args=(t,)) for t in trade_ids]
    for thread in settlers:
        thread.start()
    _wait_until(lambda: _queued(grouped, new.partner.id) == len(trade_ids))
    release.set()
    for thread in [holder, *settlers]:
        thread.join(WAIT_S)

    assert errors == []
    assert counting.writes == 2  # the holder alone, then the six operator settles together
    settled = [trading.get_trade(dep, server, t).trade.status for t in trade_ids]
    assert settled == [trades.SETTLED] * len(trade_ids)


def test_a_full_lane_refuses_at_once_and_runs_nothing(store: Store) -> None:
    grouped = GroupCommitStore(store, queue_max=1)
    release = threading.Event()
    ran: list[str] = []

    def hold(tx: Tx) -> None:
        release.wait(WAIT_S)

    def mark(name: str) -> Callable[[Tx], None]:
        def work(tx: Tx) -> None:
            ran.append(name)
            tx.set_setting(name, "written")

        return work

    leader = threading.Thread(target=grouped.write, args=(hold, "partner_x"))
    leader.start()
    _wait_until(lambda: "partner_x" in grouped._leading and _queued(grouped, "partner_x") == 0)
    queued = threading.Thread(target=grouped.write, args=(mark("queued"), "partner_x"))
    queued.start()
    _wait_until(lambda: _queued(grouped, "partner_x") == 1)

    with pytest.raises(Overloaded) as refused:
        grouped.write(mark("refused"), "partner_x")
    # another partner's lane is not affected by this one being full
    grouped.write(mark("other lane"), "partner_y")
    release.set()
    leader.join(WAIT_S)
    queued.join(WAIT_S)

    assert refused.value.retry_after_s >= 1
    assert sorted(ran) == ["other lane", "queued"]
    assert store.read(lambda tx: tx.get_setting("refused")) is None


def test_an_overloaded_trade_request_is_503_with_retry_after_and_leaves_the_key_free(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    fund(dep, new, "100.00")
    server_key = next(k.secret for k in new.keys if k.key.role == "partner_server")
    server = ctx_for("partner_server", new.partner.id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="10.00", partner_order_id=None
    )
    full = replace(dep, store=GroupCommitStore(dep.store, queue_max=0))
    body = {"quote_id": quote.quote.id, "partner_order_id": "o-503"}
    headers = {**bearer(server_key), "Idempotency-Key": "k-503"}

    with app_client(full) as client:
        refused = client.post("/v1/trades", json=body, headers=headers)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "overloaded"
    assert balance_minor(dep, new.partner.id) == (100_00, 0)

    with app_client(dep) as client:  # capacity is back: the same key now executes
        accepted = client.post("/v1/trades", json=body, headers=headers)
    assert accepted.status_code == 201, accepted.text
    assert "Idempotent-Replayed" not in accepted.headers
    assert balance_minor(dep, new.partner.id) == (90_00, 0)


def _page() -> Page:
    return Page(limit=101)

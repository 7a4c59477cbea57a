"""A venue simulator for the demo: settles (or now and then fails) open trades after a delay.

A real deployment learns outcomes from its execution venue through the operator endpoints
(``/settle``, ``/fail``, ``/return``); the simulator calls the same services with an operator
context, so the demo exercises exactly the production path. Outcomes are deterministic per trade
id (one in ten fails) so a demo run can be explained afterwards.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import timedelta

from zeropools.domain import ids, limits, trades
from zeropools.domain.clock import to_rfc3339, utc_now
from zeropools.domain.errors import DomainError
from zeropools.services import trading
from zeropools.services.context import Actor, Ctx, Deployment

log = logging.getLogger("zeropools.venue")
FAIL_ONE_IN = 10


def outcome(trade_id: str) -> str:
    digest = hashlib.sha256(trade_id.encode()).digest()
    return trades.FAILED if digest[0] % FAIL_ONE_IN == 0 else trades.SETTLED


def tick(
    dep: Deployment, delay_s: float = limits.VENUE_SIMULATOR_DELAY_S, partner_id: str | None = None
) -> int:
    """Decide every open trade older than ``delay_s`` (only ``partner_id``'s when given, so the
    demo leaves other partners' trades for a person to settle); returns how many were decided."""
    now = utc_now()
    cutoff = to_rfc3339(now - timedelta(seconds=delay_s))
    due = trading.due_trades(dep, cutoff, limits.VENUE_SIMULATOR_BATCH_MAX, partner_id)
    decided = 0
    for trade in due:
        ctx = Ctx(ids.new_id(ids.REQUEST), utc_now(), Actor("venue-simulator", "operator", None))
        try:
            if outcome(trade.id) == trades.SETTLED:
                digest = hashlib.sha256(trade.id.encode()).hexdigest()
                trading.move_trade(dep, ctx, trade.id, trades.SETTLED, tx_hash=f"0x{digest}")
            else:
                trading.move_trade(
                    dep, ctx, trade.id, trades.FAILED, reason="venue simulator: no liquidity"
                )
            decided += 1
        except DomainError as exc:  # released by the partner meanwhile: nothing to decide
            log.info("venue simulator skipped %s: %s", trade.id, exc.detail)
    return decided


def start(
    dep: Deployment,
    interval_s: float = limits.VENUE_SIMULATOR_INTERVAL_S,
    partner_id: str | None = None,
) -> threading.Event:
    """Run ``tick`` every ``interval_s`` in a daemon thread; set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                tick(dep, partner_id=partner_id)
            except Exception:  # keep simulating; the demo must not die of one bad tick
                log.exception("venue simulator tick failed")

    threading.Thread(target=loop, name="venue-simulator", daemon=True).start()
    return stop

"""The trade state machine as data, and the ledger movements each step implies.

A trade starts ``reserved`` (reserve model) or ``debited`` (debit model) and ends ``settled``,
``released``, ``failed`` or ``returned``. ``settled`` is final for the partner's order but not for
the money: a venue can still send a settled trade back, so ``settled → returned`` is allowed and
is the only way out of ``settled``. Nothing leaves ``released``, ``failed`` or ``returned``.

Movements are pure data (API.md "Balance semantics"); the ledger layer turns each into one
journal. Each names the platform account that balances it and the earlier entry type of the same
trade it unwinds, so a refund, release or return can never exist without what it reverses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from zeropools.domain import ledger, limits, partners
from zeropools.domain.errors import InvalidTransition, OrderAlreadyExecuted, ValidationFailed
from zeropools.domain.ledger import (
    BUY_DEBIT,
    BUY_REFUND,
    BUY_RETURN,
    PLATFORM_VENUE,
    TRADE_RELEASE,
    TRADE_RESERVE,
    TRADE_SETTLE,
    Line,
)
from zeropools.domain.money import Currencies
from zeropools.domain.quotes import Quote

DEBIT_MODEL = "debit"
RESERVE_MODEL = "reserve"
BALANCE_MODELS = frozenset(partners.BALANCE_MODELS)
assert frozenset({DEBIT_MODEL, RESERVE_MODEL}) == BALANCE_MODELS, BALANCE_MODELS

RESERVED = "reserved"
DEBITED = "debited"
SETTLED = "settled"
RELEASED = "released"
FAILED = "failed"
RETURNED = "returned"

TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        RESERVED: frozenset({SETTLED, RELEASED, FAILED}),
        DEBITED: frozenset({SETTLED, RELEASED, FAILED}),
        SETTLED: frozenset({RETURNED}),
        RELEASED: frozenset(),
        FAILED: frozenset(),
        RETURNED: frozenset(),
    }
)
STATUSES = frozenset(TRANSITIONS)
# "pending" in API.md: accepted, not yet in an approved terminal state.
PENDING_STATUSES = frozenset({RESERVED, DEBITED})
TERMINAL_STATUSES = STATUSES - PENDING_STATUSES
INITIAL_STATUS: Mapping[str, str] = MappingProxyType(
    {DEBIT_MODEL: DEBITED, RESERVE_MODEL: RESERVED}
)


@dataclass(frozen=True)
class Movement:
    """One journal a transition implies, from the partner's side plus its counter line.

    ``counter_delta_minor`` is stated, not derived, so the balancing rule below is a real check
    of the table rather than true by construction.
    """

    entry_type: str
    available_delta_minor: int
    reserved_delta_minor: int
    counter_account: str | None
    counter_delta_minor: int
    links: str | None

    def __post_init__(self) -> None:
        total = self.available_delta_minor + self.reserved_delta_minor + self.counter_delta_minor
        assert total == 0, ("movement does not balance", self)
        assert (self.counter_account is None) == (self.counter_delta_minor == 0), self
        assert self.available_delta_minor or self.reserved_delta_minor, self

    def lines(self) -> tuple[Line, ...]:
        """The journal lines in ``ledger`` terms, zero lines left out."""
        found = [
            Line(ledger.AVAILABLE, self.available_delta_minor),
            Line(ledger.RESERVED, self.reserved_delta_minor),
        ]
        if self.counter_account is not None:
            found.append(Line(self.counter_account, self.counter_delta_minor))
        return tuple(line for line in found if line.amount_minor != 0)


def check_transition(from_status: str, to_status: str) -> None:
    """Refuse any step the table does not list, including staying in the same status."""
    assert from_status in STATUSES, from_status
    assert to_status in STATUSES, to_status
    allowed = TRANSITIONS[from_status]
    if to_status not in allowed:
        hint = (
            f"it can only become {' or '.join(sorted(allowed))}"
            if allowed
            else "it is final and never changes again"
        )
        raise InvalidTransition(
            f"A {from_status} trade cannot become {to_status}: {hint}.",
            from_status=from_status,
            to_status=to_status,
        )


def accept(model: str, amount_minor: int) -> tuple[str, list[Movement]]:
    """Initial status and movements for a newly accepted trade of ``amount_minor``."""
    assert model in BALANCE_MODELS, model
    assert amount_minor > 0, amount_minor
    x = amount_minor
    if model == DEBIT_MODEL:
        # Money leaves the partner at acceptance: it is owed to the venue from now on.
        debit = Movement(BUY_DEBIT, -x, 0, PLATFORM_VENUE, +x, links=None)
        return DEBITED, [debit]
    # Money stays the partner's, held aside until the venue settles or the trade unwinds.
    reserve = Movement(TRADE_RESERVE, -x, +x, None, 0, links=None)
    return RESERVED, [reserve]


def transition(model: str, from_status: str, to_status: str, amount_minor: int) -> list[Movement]:
    """Check ``from_status → to_status`` and return the movements it implies."""
    assert model in BALANCE_MODELS, model
    assert amount_minor > 0, amount_minor
    # A status of the other model means a corrupted trade row, not a caller's mistake.
    assert from_status != INITIAL_STATUS[_other(model)], (model, from_status)
    check_transition(from_status, to_status)
    x = amount_minor
    if to_status == RETURNED:
        # The venue sends the money back; it returns to available whichever model held it.
        unwound = BUY_DEBIT if model == DEBIT_MODEL else TRADE_SETTLE
        return [Movement(BUY_RETURN, +x, 0, PLATFORM_VENUE, -x, links=unwound)]
    if to_status == SETTLED:
        if model == DEBIT_MODEL:
            return []  # the debit at acceptance already paid the venue
        return [Movement(TRADE_SETTLE, 0, -x, PLATFORM_VENUE, +x, links=None)]
    assert to_status in (RELEASED, FAILED), to_status
    if model == DEBIT_MODEL:
        return [Movement(BUY_REFUND, +x, 0, PLATFORM_VENUE, -x, links=BUY_DEBIT)]
    # Unwinding a reservation never touched the venue: it moves between the partner's accounts.
    return [Movement(TRADE_RELEASE, +x, -x, None, 0, links=TRADE_RESERVE)]


def _other(model: str) -> str:
    return RESERVE_MODEL if model == DEBIT_MODEL else DEBIT_MODEL


@dataclass(frozen=True)
class Trade:
    """API.md's trade object; amounts are minor units of ``currency`` and ``asset``."""

    id: str
    partner_id: str
    quote_id: str
    pool_id: str
    partner_order_id: str
    status: str
    source_amount_minor: int
    currency: str
    target_amount_minor: int
    asset: str
    delivered_amount_minor: int | None
    tx_hash: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    balance_model: str
    destination: str | None = None
    request_id: str | None = None  # the execution's request, as stored (None before it is)

    def __post_init__(self) -> None:
        assert self.balance_model in BALANCE_MODELS, self.balance_model
        assert self.status in STATUSES, self.status
        assert self.status != INITIAL_STATUS[_other(self.balance_model)], self
        assert self.source_amount_minor > 0 and self.target_amount_minor > 0, self
        assert self.delivered_amount_minor is None or self.delivered_amount_minor >= 0, self


@dataclass(frozen=True)
class TradeChange:
    """What a step produces: the trade after it, its movements and the event type to emit."""

    trade: Trade
    movements: tuple[Movement, ...]
    event_type: str


def open_trade(
    quote: Quote,
    *,
    trade_id: str,
    partner_order_id: str,
    balance_model: str,
    now: datetime,
    destination: str | None = None,
) -> TradeChange:
    """A new trade executing ``quote``; the caller has run ``check_quote_executable``."""
    status, movements = accept(balance_model, quote.source_amount_minor)
    trade = Trade(
        id=trade_id,
        partner_id=quote.partner_id,
        quote_id=quote.id,
        pool_id=quote.pool_id,
        partner_order_id=partner_order_id,
        status=status,
        source_amount_minor=quote.source_amount_minor,
        currency=quote.source_currency,
        target_amount_minor=quote.target_amount_minor,
        asset=quote.target_asset,
        delivered_amount_minor=None,
        tx_hash=None,
        failure_reason=None,
        created_at=now,
        updated_at=now,
        balance_model=balance_model,
        destination=destination,
    )
    return TradeChange(trade, tuple(movements), f"trade.{status}")


def move_trade(
    trade: Trade,
    to_status: str,
    *,
    now: datetime,
    delivered_amount_minor: int | None = None,
    tx_hash: str | None = None,
    reason: str | None = None,
) -> TradeChange:
    """Step ``trade`` to ``to_status``; raises ``InvalidTransition`` when the table forbids it.

    Settling records what the venue delivered (the quoted amount unless told otherwise) and
    its transaction hash; failing or returning records ``reason`` as ``failure_reason``.
    """
    movements = transition(trade.balance_model, trade.status, to_status, trade.source_amount_minor)
    delivered, tx, failure = trade.delivered_amount_minor, trade.tx_hash, trade.failure_reason
    if to_status == SETTLED:
        delivered = trade.target_amount_minor
        if delivered_amount_minor is not None:
            delivered = delivered_amount_minor
        tx = tx_hash
    elif to_status in (FAILED, RETURNED) and reason is not None:
        failure = reason
    moved = replace(
        trade,
        status=to_status,
        updated_at=now,
        delivered_amount_minor=delivered,
        tx_hash=tx,
        failure_reason=failure,
    )
    return TradeChange(moved, tuple(movements), f"trade.{to_status}")


def delivery_bounds(target_minor: int, tolerance_bps: int) -> tuple[int, int]:
    """The delivered amounts a settle accepts: the quoted target plus or minus
    ``tolerance_bps`` of it, rounded towards the target (never a wider window than asked)."""
    assert target_minor > 0 and 0 <= tolerance_bps <= limits.BPS_PER_UNIT, tolerance_bps
    slack = target_minor * tolerance_bps // limits.BPS_PER_UNIT
    return target_minor - slack, target_minor + slack


def check_delivery(
    trade: Trade, delivered_minor: int, *, tolerance_bps: int, currencies: Currencies
) -> None:
    """Refuse a settle whose delivered amount is outside the tolerance of the quoted target.

    The quote was firm, so a venue delivers the target up to rounding and network fees; a
    report far from it (999999 USDT for a 14 USDT trade) is a typo or a wrong trade id, and
    settling it would put a false figure into reconciliation for good.
    """
    low, high = delivery_bounds(trade.target_amount_minor, tolerance_bps)
    if low <= delivered_minor <= high:
        return
    fmt = currencies.format
    asset = trade.asset
    message = (
        f"must be within {tolerance_bps} bps of the quoted {fmt(trade.target_amount_minor, asset)} "
        f"{asset}: between {fmt(low, asset)} and {fmt(high, asset)}"
    )
    raise ValidationFailed(
        f"delivered_amount {fmt(delivered_minor, asset)} {asset} {message}. Check the venue's "
        "report and the trade id; fail the trade if nothing usable was delivered.",
        errors=[{"field": "delivered_amount", "message": message}],
        target_amount=fmt(trade.target_amount_minor, asset),
        delivered_amount_min=fmt(low, asset),
        delivered_amount_max=fmt(high, asset),
        tolerance_bps=tolerance_bps,
    )


def delivery_difference_minor(trade: Trade) -> int | None:
    """Delivered minus quoted target (minor units of the asset); None until settled."""
    if trade.delivered_amount_minor is None:
        return None
    return trade.delivered_amount_minor - trade.target_amount_minor


@dataclass(frozen=True)
class Refusal:
    """A refused execution, kept so support can say why an order did not trade."""

    partner_id: str
    id: str
    quote_id: str | None
    partner_order_id: str | None
    code: str
    detail: str
    request_id: str
    created_at: str


# An order is paid at most once: while one of its trades is in one of these, another execution of
# the same partner_order_id is refused (a release or a failure gives the money back: retry then).
ORDER_HOLDING_STATUSES = frozenset({RESERVED, DEBITED, SETTLED, RETURNED})


def check_order_free(order_id: str, existing: Sequence[Trade]) -> None:
    """Refuse a second execution of ``order_id`` while an earlier trade still holds it."""
    for trade in existing:
        if trade.partner_order_id == order_id and trade.status in ORDER_HOLDING_STATUSES:
            raise OrderAlreadyExecuted(
                f"Order {order_id!r} already has trade {trade.id} ({trade.status}); retry only "
                "after it is released or failed.",
                trade_id=trade.id,
                partner_order_id=order_id,
                trade_status=trade.status,
            )

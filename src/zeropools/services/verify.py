"""``zeropools verify``: replay every partner's ledger and report every mismatch.

Per partner, one read snapshot: the hash chain and balances (``ChainCheck``), then every trade
and pay-in against its entries (``trade_problems``, ``payin_problems``), streamed and joined a
batch at a time. Checked from the trade and pay-in rows: an entry naming an id that has no row
is not reported (the store's own contract tests post such entries on purpose).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

from zeropools.domain import limits
from zeropools.domain.money import CURRENCY_SCALES_SETTING, DEFAULT_SCALES, Currencies
from zeropools.domain.verify import ChainCheck, Problem, in_units, payin_problems, trade_problems
from zeropools.store.protocol import Store, Tx

T = TypeVar("T")


@dataclass
class VerifyReport:
    partners: int = 0
    entries: int = 0
    trades: int = 0
    payins: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _PartnerCheck:
    entries: int = 0
    trades: int = 0
    payins: int = 0
    problems: list[Problem] = field(default_factory=list)


def stored_currencies(store: Store) -> Currencies:
    """The scales the stored amounts were written with (pinned on start), defaults besides."""
    text = store.read(lambda tx: tx.get_setting(CURRENCY_SCALES_SETTING))
    pinned: dict[str, int] = json.loads(text) if text else {}
    return Currencies({**DEFAULT_SCALES, **pinned})


def verify(store: Store, on_partner: Callable[[str], None] | None = None) -> VerifyReport:
    report = VerifyReport()
    currencies = stored_currencies(store)
    partner_ids = store.read(lambda tx: tx.partner_ids())
    for partner_id in partner_ids:
        # one read transaction per partner: a consistent snapshot of its head and entries
        checked = store.read(
            functools.partial(_check, partner_id=partner_id, currencies=currencies)
        )
        report.partners += 1
        report.entries += checked.entries
        report.trades += checked.trades
        report.payins += checked.payins
        report.problems += checked.problems
        if on_partner is not None:
            on_partner(partner_id)
    for currency, (journals, parked) in store.read(lambda tx: tx.suspense_totals()).items():
        if journals != parked:
            report.problems.append(
                Problem(
                    "platform",
                    None,
                    f"suspense {in_units(currencies, journals, currency)} by its journals, "
                    f"pay-ins in review {in_units(currencies, parked, currency)}",
                    field="suspense",
                    currency=currency,
                )
            )
    return report


def _check(tx: Tx, partner_id: str, currencies: Currencies) -> _PartnerCheck:
    checked = _PartnerCheck()
    chain = ChainCheck(partner_id, currencies)
    for entry in tx.iter_entries(partner_id):
        checked.problems += chain.feed(entry)
    state = tx.ledger_state(partner_id)
    checked.problems += chain.finish(state.head, state.balances)
    checked.entries = chain.entries
    for trades in _batches(tx.stream_trades(partner_id)):
        entries = tx.trade_entries(partner_id, [t.id for t in trades])
        for trade in trades:
            checked.problems += trade_problems(trade, entries.get(trade.id, []))
        checked.trades += len(trades)
    for payins in _batches(tx.stream_payins(partner_id)):
        entries = tx.payin_entries(partner_id, [p.id for p in payins])
        for payin in payins:
            checked.problems += payin_problems(payin, entries.get(payin.id, []))
        checked.payins += len(payins)
    return checked


def _batches(items: Iterator[T]) -> Iterator[Sequence[T]]:
    while batch := list(islice(items, limits.IN_LIST_VALUES_MAX)):
        yield batch

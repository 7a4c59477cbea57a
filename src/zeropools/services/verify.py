"""``zeropools verify``: replay every partner's ledger and report every mismatch."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from zeropools.domain.money import CURRENCY_SCALES_SETTING, DEFAULT_SCALES, Currencies
from zeropools.domain.verify import ChainCheck, Problem, in_units
from zeropools.store.protocol import Store, Tx


@dataclass
class VerifyReport:
    partners: int = 0
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


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
        def check(tx: Tx, partner_id: str = partner_id) -> tuple[int, list[Problem]]:
            chain = ChainCheck(partner_id, currencies)
            problems = []
            for entry in tx.iter_entries(partner_id):
                problems += chain.feed(entry)
            state = tx.ledger_state(partner_id)
            problems += chain.finish(state.head, state.balances)
            return chain.entries, problems

        entries, problems = store.read(check)
        report.partners += 1
        report.entries += entries
        report.problems += problems
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

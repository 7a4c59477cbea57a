"""Why a balance moved in a window: opening, closing, credits, debits and totals by type.

A roll-forward. ``opening`` is the balance right after the entry before the window's first one;
each entry moves it by its journal lines; ``closing`` is where the last one left it. So
``opening + sum(entries) = closing`` holds by construction, for ``available`` and ``reserved``
alike, and each entry's stored ``available_after``/``reserved_after`` is checked against the
running sum on the way (an assert: a mismatch is a corrupted ledger, which ``zeropools verify``
names).

The window is a run of consecutive sequences: from the first entry created at or after ``from``
to the last created before ``to``. Times come from each request's clock, so two requests racing
for one partner can be sequenced in the other order than their times by a few milliseconds; a
run of sequences keeps the roll-forward exact where a pure time filter could skip an entry.

``credits`` and ``debits`` are the increases and decreases of ``available`` (``debits`` signed,
as ledger amounts are); an entry that moves only ``reserved`` (``trade_settle``) shows in
``by_type`` with its amount. Fed one entry at a time, so any window costs constant memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zeropools.domain.ledger import Balance, LedgerEntry, partner_deltas


@dataclass
class TypeTotal:
    count: int = 0
    amount_minor: int = 0  # the sum of the entries' signed ``amount``


@dataclass
class BalanceChanges:
    currency: str
    opening: Balance
    closing: Balance = field(init=False)
    credits_minor: int = 0
    debits_minor: int = 0
    by_type: dict[str, TypeTotal] = field(default_factory=dict)
    entries: int = 0
    last_sequence: int | None = None

    def __post_init__(self) -> None:
        self.closing = self.opening

    def feed(self, entry: LedgerEntry) -> None:
        """Roll ``entry`` forward; entries come in sequence order."""
        assert entry.currency == self.currency, (entry.currency, self.currency)
        assert self.last_sequence is None or entry.sequence > self.last_sequence, entry.sequence
        d_available, d_reserved = partner_deltas(entry.lines)
        self.closing = Balance(
            self.closing.available_minor + d_available, self.closing.reserved_minor + d_reserved
        )
        stored = (entry.available_after_minor, entry.reserved_after_minor)
        assert (self.closing.available_minor, self.closing.reserved_minor) == stored, (
            "the roll-forward disagrees with the stored balance after",
            entry.id,
        )
        if d_available > 0:
            self.credits_minor += d_available
        else:
            self.debits_minor += d_available
        total = self.by_type.setdefault(entry.type, TypeTotal())
        total.count += 1
        total.amount_minor += entry.amount_minor
        self.entries += 1
        self.last_sequence = entry.sequence


@dataclass(frozen=True)
class BalanceChangesView:
    """What ``GET /v1/balances/{currency}/changes`` answers."""

    partner_id: str
    currency: str
    created_gte: str
    created_lt: str
    changes: BalanceChanges
    first_entries: tuple[LedgerEntry, ...]
    has_more: bool

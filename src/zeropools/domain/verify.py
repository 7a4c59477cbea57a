"""Replay a partner's entries and report every way they disagree with the invariants.

Streaming (``feed`` one entry at a time) so ``zeropools verify`` runs in constant memory over
any ledger size. Nothing here trusts a stored derived value: each hash is recomputed from the
stored fields, each running balance from the journal lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from zeropools.domain.ledger import (
    BUY_DEBIT,
    GENESIS_HASH,
    PAYIN_CREDIT,
    TRADE_RESERVE,
    TRADE_SETTLE,
    Balance,
    LedgerEntry,
    LedgerHead,
    chain_hash,
    journal_problems,
    partner_deltas,
)

UNWINDABLE = frozenset({BUY_DEBIT, TRADE_RESERVE, TRADE_SETTLE, PAYIN_CREDIT})


@dataclass(frozen=True)
class Problem:
    partner_id: str
    sequence: int | None
    message: str

    def __str__(self) -> str:
        where = f"#{self.sequence}" if self.sequence is not None else "head"
        return f"{self.partner_id} {where}: {self.message}"


@dataclass
class ChainCheck:
    partner_id: str
    sequence: int = 0
    prev_hash: str = GENESIS_HASH
    balances: dict[str, Balance] = field(default_factory=dict)
    entries: int = 0
    # entries that may still be unwound: id -> (currency, amount moved); one small tuple per
    # debit/reserve/settle/credit is the memory this check costs
    unwindable: dict[str, tuple[str, int]] = field(default_factory=dict)

    def feed(self, entry: LedgerEntry) -> list[Problem]:
        found = []

        def problem(message: str) -> None:
            found.append(Problem(self.partner_id, entry.sequence, message))

        if entry.sequence != self.sequence + 1:
            problem(f"sequence gap: expected {self.sequence + 1}, found {entry.sequence}")
        if entry.prev_hash != self.prev_hash:
            problem("prev_hash does not match the previous entry's hash")
        if chain_hash(entry.prev_hash, entry.hash_payload()) != entry.hash:
            problem("hash does not match the entry's contents (altered after writing?)")
        for message in journal_problems(entry.type, entry.lines, entry.links, entry.reason):
            problem(message)
        before = self.balances.get(entry.currency, Balance())
        d_available, d_reserved = partner_deltas(entry.lines)
        after = Balance(before.available_minor + d_available, before.reserved_minor + d_reserved)
        if (after.available_minor, after.reserved_minor) != (
            entry.available_after_minor,
            entry.reserved_after_minor,
        ):
            problem(
                f"running balance {after.available_minor}/{after.reserved_minor} differs from "
                f"stored {entry.available_after_minor}/{entry.reserved_after_minor}"
            )
        expected_amount = d_available if d_available != 0 else d_reserved
        if entry.amount_minor != expected_amount:
            problem(f"amount {entry.amount_minor} differs from its lines ({expected_amount})")
        if after.available_minor < 0 or after.reserved_minor < 0:
            problem("balance went negative")
        self._check_unwind(entry, problem)
        self.balances[entry.currency] = after
        self.sequence = entry.sequence
        self.prev_hash = entry.hash
        self.entries += 1
        return found

    def _check_unwind(self, entry: LedgerEntry, problem: Callable[[str], None]) -> None:
        """Invariant 5: an unwind links an earlier entry of this ledger, once, and never
        gives back more than that entry moved."""
        if entry.type in UNWINDABLE:
            self.unwindable[entry.id] = (entry.currency, abs(entry.amount_minor))
        related = entry.links.related_entry_id
        if related is None:
            return
        unwound = self.unwindable.pop(related, None)
        if unwound is None:
            problem(f"unwinds {related}, which is not an earlier, not yet unwound entry")
            return
        currency, moved = unwound
        if currency != entry.currency or abs(entry.amount_minor) > moved:
            problem(f"unwinds {abs(entry.amount_minor)} {entry.currency} of {related}'s {moved}")

    def finish(self, head: LedgerHead, stored: Mapping[str, Balance]) -> list[Problem]:
        found = []
        if (head.sequence, head.hash) != (self.sequence, self.prev_hash):
            found.append(
                Problem(
                    self.partner_id,
                    None,
                    f"stored head #{head.sequence} does not match the last entry #{self.sequence}",
                )
            )
        for currency in sorted(set(stored) | set(self.balances)):
            replayed = self.balances.get(currency, Balance())
            kept = stored.get(currency, Balance())
            if replayed != kept:
                found.append(
                    Problem(
                        self.partner_id,
                        None,
                        f"stored {currency} balance {kept.available_minor}/{kept.reserved_minor} "
                        f"!= sum of entries {replayed.available_minor}/{replayed.reserved_minor}",
                    )
                )
        return found

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
from zeropools.domain.money import Currencies

UNWINDABLE = frozenset({BUY_DEBIT, TRADE_RESERVE, TRADE_SETTLE, PAYIN_CREDIT})


@dataclass(frozen=True)
class Problem:
    """One mismatch: whose ledger, which entry (``ple_...`` and its sequence) or ``balance``
    / ``head``, which stored field, and what the replay found instead, in currency units."""

    partner_id: str
    sequence: int | None
    message: str
    entry_id: str | None = None
    field: str | None = None
    currency: str | None = None  # of a stored balance that differs

    def __str__(self) -> str:
        if self.entry_id is not None:
            where = f"{self.entry_id} (#{self.sequence})"
        elif self.sequence is not None:
            where = f"#{self.sequence}"
        elif self.currency is not None:
            where = f"balance {self.currency}"
        else:
            where = "head"
        return f"{self.partner_id} {where}: {self.message}"


def in_units(currencies: Currencies | None, amount_minor: int, currency: str) -> str:
    """``1985.00 EUR``; minor units when the scale is unknown (verify must still report)."""
    if currencies is not None and currency in currencies.scales:
        return f"{currencies.format(amount_minor, currency)} {currency}"
    return f"{amount_minor} minor units of {currency}"


@dataclass
class ChainCheck:
    partner_id: str
    currencies: Currencies | None = None  # to report amounts in units; minor units without
    sequence: int = 0
    prev_hash: str = GENESIS_HASH
    balances: dict[str, Balance] = field(default_factory=dict)
    entries: int = 0
    # entries that may still be unwound: id -> (currency, amount moved); one small tuple per
    # debit/reserve/settle/credit is the memory this check costs
    unwindable: dict[str, tuple[str, int]] = field(default_factory=dict)

    def feed(self, entry: LedgerEntry) -> list[Problem]:
        found = []

        def problem(message: str, field: str | None = None) -> None:
            found.append(Problem(self.partner_id, entry.sequence, message, entry.id, field))

        def units(amount_minor: int) -> str:
            return in_units(self.currencies, amount_minor, entry.currency)

        if entry.sequence != self.sequence + 1:
            problem(
                f"sequence gap: expected {self.sequence + 1}, found {entry.sequence}", "sequence"
            )
        if entry.prev_hash != self.prev_hash:
            problem("prev_hash does not match the previous entry's hash", "prev_hash")
        if chain_hash(entry.prev_hash, entry.hash_payload()) != entry.hash:
            problem("hash does not match the entry's contents (altered after writing?)", "hash")
        for message in journal_problems(entry.type, entry.lines, entry.links, entry.reason):
            problem(message, "lines")
        before = self.balances.get(entry.currency, Balance())
        d_available, d_reserved = partner_deltas(entry.lines)
        after = Balance(before.available_minor + d_available, before.reserved_minor + d_reserved)
        for name, replayed, stored in (
            ("available_after", after.available_minor, entry.available_after_minor),
            ("reserved_after", after.reserved_minor, entry.reserved_after_minor),
        ):
            if replayed != stored:
                problem(
                    f"{name} {units(replayed)} by the journal lines, stored {units(stored)}", name
                )
        expected_amount = d_available if d_available != 0 else d_reserved
        if entry.amount_minor != expected_amount:
            problem(
                f"amount {units(entry.amount_minor)} differs from its lines "
                f"({units(expected_amount)})",
                "amount",
            )
        if after.available_minor < 0 or after.reserved_minor < 0:
            problem("balance went negative", "available_after")
        self._check_unwind(entry, problem)
        self.balances[entry.currency] = after
        self.sequence = entry.sequence
        self.prev_hash = entry.hash
        self.entries += 1
        return found

    def _check_unwind(self, entry: LedgerEntry, problem: Callable[[str, str], None]) -> None:
        """Invariant 5: an unwind links an earlier entry of this ledger, once, and never
        gives back more than that entry moved."""
        if entry.type in UNWINDABLE:
            self.unwindable[entry.id] = (entry.currency, abs(entry.amount_minor))
        related = entry.links.related_entry_id
        if related is None:
            return
        unwound = self.unwindable.pop(related, None)
        if unwound is None:
            problem(
                f"unwinds {related}, which is not an earlier, not yet unwound entry",
                "related_entry_id",
            )
            return
        currency, moved = unwound
        if currency != entry.currency or abs(entry.amount_minor) > moved:
            problem(
                f"unwinds {in_units(self.currencies, abs(entry.amount_minor), entry.currency)} of "
                f"{related}'s {in_units(self.currencies, moved, currency)}",
                "amount",
            )

    def finish(self, head: LedgerHead, stored: Mapping[str, Balance]) -> list[Problem]:
        found = []
        if (head.sequence, head.hash) != (self.sequence, self.prev_hash):
            found.append(
                Problem(
                    self.partner_id,
                    None,
                    f"stored head #{head.sequence} does not match the last entry #{self.sequence}",
                    field="head",
                )
            )
        for currency in sorted(set(stored) | set(self.balances)):
            replayed = self.balances.get(currency, Balance())
            kept = stored.get(currency, Balance())
            for name, by_entries, as_stored in (
                ("available", replayed.available_minor, kept.available_minor),
                ("reserved", replayed.reserved_minor, kept.reserved_minor),
            ):
                if by_entries != as_stored:
                    found.append(
                        Problem(
                            self.partner_id,
                            None,
                            f"{name} {in_units(self.currencies, by_entries, currency)} by the "
                            f"entries, stored {in_units(self.currencies, as_stored, currency)}",
                            field=name,
                            currency=currency,
                        )
                    )
        return found

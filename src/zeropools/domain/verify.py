"""Replay a partner's entries and report every way they disagree with the invariants.

Streaming (``feed`` one entry at a time) so ``zeropools verify`` runs in constant memory over
any ledger size. Nothing here trusts a stored derived value: each hash is recomputed from the
stored fields, each running balance from the journal lines.

Trades and pay-ins are checked against their entries too (``trade_problems``,
``payin_problems``): a status is a claim about money, and the entries are the money. What a
status implies is derived from the state machines themselves (``trades.accept`` and
``trades.transition`` along the path to the status), not restated here, so the check and the
code that posts can never disagree about the rules, only about the data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from zeropools.domain import payins, trades
from zeropools.domain.ledger import (
    ADJUSTMENT,
    AVAILABLE,
    BUY_DEBIT,
    ENTRY_TYPES,
    GENESIS_HASH,
    HASH_VERSION_EXPORT,
    NEEDS_RELATED,
    NEEDS_TRADE,
    PAYIN_CREDIT,
    PAYIN_REVERSAL,
    PLATFORM_ACCOUNTS,
    RESERVED,
    TRADE_RESERVE,
    TRADE_SETTLE,
    Balance,
    EntryRow,
    LedgerEntry,
    LedgerHead,
    chain_hash,
    entry_from_values,
    export_hash_input,
    journal_problems,
    lines_value,
    partner_deltas,
)
from zeropools.domain.money import Currencies
from zeropools.domain.payins import Payin
from zeropools.domain.trades import Trade

UNWINDABLE = frozenset({BUY_DEBIT, TRADE_RESERVE, TRADE_SETTLE, PAYIN_CREDIT})
# feed_rows: each known account's kind (1 available, 2 reserved, 0 a platform account)
_LINE_DELTAS: Mapping[str, int] = {
    AVAILABLE: 1,
    RESERVED: 2,
    **dict.fromkeys(PLATFORM_ACCOUNTS, 0),
}


def _links_sound(entry_type: str, row: EntryRow) -> bool:
    """``journal_problems``' link and reason rules on a stored row (``feed_rows``)."""
    if entry_type in NEEDS_TRADE and not row[9]:
        return False
    if entry_type in NEEDS_RELATED and not row[12]:
        return False
    if entry_type == PAYIN_CREDIT and not row[11]:
        return False
    return not (entry_type == ADJUSTMENT and not row[15])


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
    subject: str | None = None  # the trade or pay-in the problem is about, if any

    def __str__(self) -> str:
        if self.entry_id is not None:
            where = f"{self.entry_id} (#{self.sequence})"
        elif self.sequence is not None:
            where = f"#{self.sequence}"
        elif self.subject is not None:
            where = self.subject
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
    # a check of a range of the chain (not from its start) cannot know the entries unwindable
    # before it: an unwind of one it has not seen is kept here, to be settled by
    # ``unwind_problems`` against the whole ledger, not reported
    defer_unwinds: bool = False
    deferred: list[DeferredUnwind] = field(default_factory=list)

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

    def feed_rows(self, rows: Iterable[EntryRow]) -> list[Problem]:
        """``feed`` for stored rows, a batch at a time, at bulk speed (``zeropools verify``
        reads millions): each row gets the same checks, done on the plain tuple, with the hash
        input written directly (``export_hash_input``) and the balances kept as ints. The fast
        path only ever *accepts*: a row it cannot pass in full (any mismatch, a version-1 hash,
        a value of an unexpected type) goes to ``feed`` as a ``LedgerEntry``, so what is
        reported, and the state after it, never depends on which path a row took."""
        found: list[Problem] = []
        sha256, loads, partner_accounts = hashlib.sha256, lines_value, _LINE_DELTAS
        unwindable = self.unwindable
        running = {c: (b.available_minor, b.reserved_minor) for c, b in self.balances.items()}
        sequence, prev_hash, accepted = self.sequence, self.prev_hash, 0

        def sync() -> None:
            """Hand the running state to ``feed`` (and take it back after)."""
            for currency, (available, reserved) in running.items():
                self.balances[currency] = Balance(available, reserved)
            self.sequence, self.prev_hash = sequence, prev_hash
            self.entries += accepted

        for row in rows:
            entry_type, currency, amount = row[3], row[4], row[5]
            related = row[12]
            try:
                ok = (
                    row[1] == sequence + 1
                    and row[18] == prev_hash
                    and row[20] == HASH_VERSION_EXPORT
                    and entry_type in ENTRY_TYPES
                )
                if ok:
                    d_available = d_reserved = total = 0
                    touches = False
                    for account, line_minor in loads(row[8]):
                        kind = partner_accounts.get(account)
                        if kind is None or type(line_minor) is not int or line_minor == 0:
                            ok = False
                            break
                        total += line_minor
                        if kind == 1:
                            d_available += line_minor
                            touches = True
                        elif kind == 2:
                            d_reserved += line_minor
                            touches = True
                    before_available, before_reserved = running.get(currency, (0, 0))
                    available = before_available + d_available
                    reserved = before_reserved + d_reserved
                    ok = (
                        ok
                        and touches
                        and total == 0
                        and _links_sound(entry_type, row)
                        and row[6] == available
                        and row[7] == reserved
                        and available >= 0
                        and reserved >= 0
                        and amount == (d_available if d_available != 0 else d_reserved)
                    )
                if ok and related is not None:
                    unwound = unwindable.get(related)
                    ok = (
                        unwound is not None and unwound[0] == currency and abs(amount) <= unwound[1]
                    )
                ok = ok and sha256(export_hash_input(row)).hexdigest() == row[19]
            except (TypeError, ValueError):  # a value of another type than stored ones have
                ok = False
            if not ok:
                sync()
                found += self.feed(entry_from_values(row))
                running = {
                    c: (b.available_minor, b.reserved_minor) for c, b in self.balances.items()
                }
                sequence, prev_hash, accepted = self.sequence, self.prev_hash, 0
                continue
            if entry_type in UNWINDABLE:
                unwindable[row[2]] = (currency, abs(amount))
            if related is not None:
                del unwindable[related]
            running[currency] = (available, reserved)
            sequence, prev_hash = row[1], row[19]
            accepted += 1
        sync()
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
        if unwound is None and self.defer_unwinds:
            self.deferred.append(
                DeferredUnwind(
                    entry.sequence, entry.id, entry.currency, abs(entry.amount_minor), related
                )
            )
            return
        for message, field_name in _unwind_findings(self.currencies, entry, related, unwound):
            problem(message, field_name)

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


@dataclass(frozen=True)
class DeferredUnwind:
    """An unwind a range check could not settle: the entry (sequence, id, currency, amount
    moved) and the entry it unwinds, which lies before the range."""

    sequence: int
    entry_id: str
    currency: str
    amount_minor: int  # moved, as ``abs``
    related: str


def _unwind_findings(
    currencies: Currencies | None,
    entry: LedgerEntry | DeferredUnwind,
    related: str,
    unwound: tuple[str, int] | None,
) -> list[tuple[str, str]]:
    """``_check_unwind``'s verdict on an unwind of ``related``, given what ``related`` left to
    unwind (None: not an earlier, not yet unwound entry of the ledger)."""
    if isinstance(entry, DeferredUnwind):
        currency_of, amount = entry.currency, entry.amount_minor
    else:
        currency_of, amount = entry.currency, abs(entry.amount_minor)
    if unwound is None:
        return [
            (
                f"unwinds {related}, which is not an earlier, not yet unwound entry",
                "related_entry_id",
            )
        ]
    currency, moved = unwound
    if currency != currency_of or amount > moved:
        return [
            (
                f"unwinds {in_units(currencies, amount, currency_of)} of "
                f"{related}'s {in_units(currencies, moved, currency)}",
                "amount",
            )
        ]
    return []


def unwind_problems(
    partner_id: str,
    currencies: Currencies | None,
    unwind: DeferredUnwind,
    related: LedgerEntry | None,
    unwinds_of_related: Iterable[int],
) -> list[Problem]:
    """Settle a ``DeferredUnwind`` as a check from the chain's start would have: ``related``
    (the entry it names, if this ledger has it) was unwindable at ``unwind`` if it is of an
    unwindable type, earlier, and no entry between the two unwound it (``unwinds_of_related``:
    the sequences of every entry naming it)."""
    unwound: tuple[str, int] | None = None
    if (
        related is not None
        and related.type in UNWINDABLE
        and related.sequence < unwind.sequence
        and not any(related.sequence < s < unwind.sequence for s in unwinds_of_related)
    ):
        unwound = (related.currency, abs(related.amount_minor))
    return [
        Problem(partner_id, unwind.sequence, message, unwind.entry_id, field_name)
        for message, field_name in _unwind_findings(currencies, unwind, unwind.related, unwound)
    ]


@dataclass(frozen=True)
class PublishedHead:
    """The ledger head an event handed the partner (``ledger_head`` of its body)."""

    event_id: str
    sequence: int
    hash: str


class PublishedHeads:
    """Every head the partner's events published, held against the chain during the replay.

    A consistent rewrite (amounts, hashes, head and balances recomputed) replays clean; but
    the partner was handed the head its chain had at each event, so the stored events name
    hashes the rewritten chain no longer has (and a rewriter who also edits the stored events
    still cannot edit the copies already delivered). One pass, in step with ``ChainCheck``:
    heads come in event order, which is head order (a stream's events are serialized and each
    reads the head after its own postings), so this holds one head at a time.
    """

    def __init__(self, partner_id: str, heads: Iterator[PublishedHead]) -> None:
        self.partner_id = partner_id
        self._heads = heads
        self._next: PublishedHead | None = next(heads, None)
        self._at = 0  # the sequence of the last entry fed
        self.checked = 0

    def _problem(self, head: PublishedHead, message: str) -> Problem:
        return Problem(
            self.partner_id, head.sequence, f"event {head.event_id}: {message}", field="head"
        )

    @property
    def exhausted(self) -> bool:
        """No head is left to hold against the chain: the rest of it changes nothing."""
        return self._next is None

    def _advance(self) -> None:
        self.checked += 1
        self._next = next(self._heads, None)

    def feed(self, entry: LedgerEntry) -> list[Problem]:
        return self.feed_head(entry.sequence, entry.hash)

    def feed_rows(self, rows: Iterable[EntryRow]) -> list[Problem]:
        """``feed`` for stored rows (``ENTRY_ROW_FIELDS`` order: sequence 1, hash 19)."""
        return self.feed_hashes((row[1], row[19]) for row in rows)

    def feed_hashes(self, pairs: Iterable[tuple[int, str]]) -> list[Problem]:
        """``feed`` for each entry's (sequence, hash). An entry before the next head's
        sequence only moves the position: ``feed_head`` would find nothing to report there
        (no head is behind it, none names it), so it is not called."""
        found: list[Problem] = []
        for sequence, entry_hash in pairs:
            head = self._next
            if head is None or sequence < head.sequence:
                self._at = sequence
                continue
            found += self.feed_head(sequence, entry_hash)
        return found

    def feed_head(self, sequence: int, entry_hash: str) -> list[Problem]:
        found = self._before(sequence)
        while self._next is not None and self._next.sequence == sequence:
            if self._next.hash != entry_hash:
                found.append(
                    self._problem(
                        self._next,
                        f"published head #{sequence} {self._next.hash[:12]}..., the "
                        f"ledger's entry #{sequence} is {entry_hash[:12]}...",
                    )
                )
            self._advance()
        self._at = sequence
        return found

    def _before(self, sequence: int) -> list[Problem]:
        """Heads naming a sequence the replay has passed: the genesis head (0, before any
        entry), or heads out of order (no entry there is left to compare with)."""
        found = []
        while self._next is not None and self._next.sequence < sequence:
            head = self._next
            if head.sequence == 0 and head.hash != GENESIS_HASH:
                found.append(self._problem(head, "published the empty head with a hash"))
            elif head.sequence != 0 and head.sequence <= self._at:
                found.append(self._problem(head, f"published head #{head.sequence} out of order"))
            elif head.sequence != 0:
                found.append(self._problem(head, f"published head #{head.sequence}: no such entry"))
            self._advance()
        return found

    def finish(self) -> list[Problem]:
        found = self._before(self._at + 1)
        while self._next is not None:
            found.append(
                self._problem(
                    self._next,
                    f"published head #{self._next.sequence}, the ledger ends at #{self._at}",
                )
            )
            self._advance()
        return found


# The path of statuses a trade went through to reach each status (``trades.TRANSITIONS``).
_PATHS: Mapping[str, tuple[str, ...]] = {
    trades.SETTLED: (trades.SETTLED,),
    trades.RELEASED: (trades.RELEASED,),
    trades.FAILED: (trades.FAILED,),
    trades.RETURNED: (trades.SETTLED, trades.RETURNED),
}


def implied_movements(model: str, status: str, amount_minor: int) -> list[trades.Movement]:
    """The journals a trade in ``status`` must have, in order, by the state machine."""
    initial, movements = trades.accept(model, amount_minor)
    at = initial
    for step in _PATHS.get(status, ()):
        movements += trades.transition(model, at, step, amount_minor)
        at = step
    assert at == status, (model, status)
    return movements


# What ``trade_rows_sound`` needs of a stored trade: these columns, in this order (the store
# reads them by this tuple, as entries by ``ENTRY_ROW_FIELDS``).
TRADE_FACTS_FIELDS = (
    "id",
    "balance_model",
    "status",
    "source_amount_minor",
    "currency",
    "quote_id",
    "partner_order_id",
)
TradeFacts = tuple[str, str, str, int, str, str, str]


def trade_rows_sound(facts: TradeFacts, rows: Sequence[EntryRow]) -> bool:
    """``trade_problems`` would find nothing, decided on the stored rows (``rows``: the
    trade's entries in sequence order) without building a ``Trade`` or a ``LedgerEntry``:
    ``verify`` checks every trade, and building them cost several times the check. Only ever
    accepts: False (a mismatch, or a value of a type stored ones do not have) sends the trade
    to ``trade_problems``, which says what is wrong, so the report never depends on this."""
    _, model, status, amount, currency, quote_id, order_id = facts
    try:
        expected = implied_movements(model, status, amount)
        if len(rows) != len(expected):
            return False
        unwinds: dict[str, str] = {}  # entry type -> its entry's id, as ``trade_problems``
        for row, movement in zip(rows, expected, strict=True):
            if row[3] != movement.entry_type or row[4] != currency:
                return False
            if row[10] != quote_id or row[14] != order_id:
                return False
            available = reserved = 0
            for account, line_minor in lines_value(row[8]):
                if type(line_minor) is not int or type(account) is not str:
                    return False
                if account == AVAILABLE:
                    available += line_minor
                elif account == RESERVED:
                    reserved += line_minor
            if available != movement.available_delta_minor:
                return False
            if reserved != movement.reserved_delta_minor:
                return False
            if movement.links is not None and row[12] != unwinds.get(movement.links, False):
                return False
            unwinds[row[3]] = row[2]
    except (AssertionError, KeyError, TypeError, ValueError):  # an impossible status, ...
        return False
    return True


def trade_problems(trade: Trade, entries: Sequence[LedgerEntry]) -> list[Problem]:
    """How ``trade`` disagrees with its entries: their types, amounts, currency, links."""

    def problem(message: str, entry: LedgerEntry | None = None) -> Problem:
        sequence = entry.sequence if entry is not None else None
        return Problem(trade.partner_id, sequence, f"trade {trade.id}: {message}", subject=trade.id)

    mine = sorted(entries, key=lambda e: e.sequence)
    expected = implied_movements(trade.balance_model, trade.status, trade.source_amount_minor)
    found_types = [e.type for e in mine]
    expected_types = [m.entry_type for m in expected]
    if found_types != expected_types:
        return [
            problem(
                f"is {trade.status} but has entries {found_types or 'none'}; "
                f"a {trade.balance_model}-model {trade.status} trade has {expected_types}"
            )
        ]
    found = []
    by_type: dict[str, LedgerEntry] = {}
    for entry, movement in zip(mine, expected, strict=True):
        moved = partner_deltas(entry.lines)
        wanted = (movement.available_delta_minor, movement.reserved_delta_minor)
        if moved != wanted:
            found.append(problem(f"{entry.type} moves {moved}, the trade implies {wanted}", entry))
        if entry.currency != trade.currency:
            found.append(
                problem(f"{entry.type} is in {entry.currency}, not {trade.currency}", entry)
            )
        if (entry.links.quote_id, entry.links.partner_order_id) != (
            trade.quote_id,
            trade.partner_order_id,
        ):
            found.append(problem(f"{entry.type} names another quote or order", entry))
        if movement.links is not None:
            unwound = by_type.get(movement.links)
            if unwound is None or entry.links.related_entry_id != unwound.id:
                found.append(problem(f"{entry.type} does not link the {movement.links}", entry))
        by_type[entry.type] = entry
    return found


def payin_problems(payin: Payin, entries: Sequence[LedgerEntry]) -> list[Problem]:
    """How a partner's pay-in disagrees with its entries: a credited one has exactly its
    credit; a recalled one its credit and the reversal linking it; any other none."""
    assert payin.partner_id is not None
    partner_id = payin.partner_id

    def problem(message: str, entry: LedgerEntry | None = None) -> Problem:
        sequence = entry.sequence if entry is not None else None
        return Problem(partner_id, sequence, f"pay-in {payin.id}: {message}", subject=payin.id)

    mine = sorted(entries, key=lambda e: e.sequence)
    credited = payin.ledger_entry_id is not None
    expected_types = [PAYIN_CREDIT] if credited else []
    if credited and payin.status == payins.RETURNED:
        expected_types.append(PAYIN_REVERSAL)
    found_types = [e.type for e in mine]
    if found_types != expected_types:
        return [
            problem(
                f"is {payin.status} but has entries {found_types or 'none'}; "
                f"expected {expected_types or 'none'}"
            )
        ]
    found = []
    for entry in mine:
        sign = 1 if entry.type == PAYIN_CREDIT else -1
        if payin.amount_minor is None or partner_deltas(entry.lines) != (
            sign * payin.amount_minor,
            0,
        ):
            found.append(
                problem(f"{entry.type} moves {entry.amount_minor}, not the pay-in's", entry)
            )
        if entry.currency != payin.currency:
            found.append(
                problem(f"{entry.type} is in {entry.currency}, not {payin.currency}", entry)
            )
    if mine and mine[0].id != payin.ledger_entry_id:
        found.append(problem(f"names credit {payin.ledger_entry_id}, not {mine[0].id}", mine[0]))
    if len(mine) == 2 and mine[1].links.related_entry_id != mine[0].id:
        found.append(problem("the reversal does not link the credit", mine[1]))
    return found

"""Ledger postings: double-entry journals, per-partner sequence and hash chain.

A partner-visible ``LedgerEntry`` is the partner side of one journal. Its ``lines`` are the
whole journal: the partner's ``available``/``reserved`` accounts and the platform counter
account (``platform:bank``, ``platform:suspense``, ``platform:venue``). Lines sum to zero, so the
sum of all accounts per currency is zero by construction. Platform accounts carry the negative of
what the partners hold from them: a pay-in credit is ``platform:bank -X, available +X``.

``append`` is the only way entries come into being. It checks the invariants before anything is
written (DESIGN.md "The ledger"); the database checks them again and ``verify`` a third time.
"""

from __future__ import annotations

import hashlib
import json
import json.scanner
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any, cast

from zeropools.domain import ids, limits
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import AmountOutOfRange, InsufficientBalance
from zeropools.domain.money import Currencies

AVAILABLE = "available"
RESERVED = "reserved"
PLATFORM_BANK = "platform:bank"
PLATFORM_SUSPENSE = "platform:suspense"
PLATFORM_VENUE = "platform:venue"
# counter-side of operator corrections: what the platform gave or took back, with a reason
PLATFORM_ADJUSTMENTS = "platform:adjustments"
PARTNER_ACCOUNTS = frozenset({AVAILABLE, RESERVED})
PLATFORM_ACCOUNTS = frozenset(
    {PLATFORM_BANK, PLATFORM_SUSPENSE, PLATFORM_VENUE, PLATFORM_ADJUSTMENTS}
)

GENESIS_HASH = "0" * 64
# Chain versions (docs/ledger-hash.md). 1: the hash covers every stored field, journal lines and
# reason included, which a partner never sees. 2 (current): exactly the fields of the finance
# export row, so a partner can recompute every hash from the files it holds.
HASH_VERSION_LINES = 1
HASH_VERSION_EXPORT = 2
HASH_VERSION = HASH_VERSION_EXPORT
HASH_VERSIONS = frozenset({HASH_VERSION_LINES, HASH_VERSION_EXPORT})

# Entry types (API.md "Balance semantics").
PAYIN_CREDIT = "payin_credit"
PAYIN_REVERSAL = "payin_reversal"
BUY_DEBIT = "buy_debit"
BUY_REFUND = "buy_refund"
BUY_RETURN = "buy_return"
TRADE_RESERVE = "trade_reserve"
TRADE_SETTLE = "trade_settle"
TRADE_RELEASE = "trade_release"
ADJUSTMENT = "adjustment"
ENTRY_TYPES = frozenset(
    {
        PAYIN_CREDIT,
        PAYIN_REVERSAL,
        BUY_DEBIT,
        BUY_REFUND,
        BUY_RETURN,
        TRADE_RESERVE,
        TRADE_SETTLE,
        TRADE_RELEASE,
        ADJUSTMENT,
    }
)
# Invariant 5: a debit for a trade carries the trade id; an unwind links what it unwinds.
NEEDS_TRADE = frozenset(
    {BUY_DEBIT, BUY_REFUND, BUY_RETURN, TRADE_RESERVE, TRADE_SETTLE, TRADE_RELEASE}
)
NEEDS_RELATED = frozenset({BUY_REFUND, BUY_RETURN, TRADE_RELEASE, PAYIN_REVERSAL})


@dataclass(frozen=True)
class Line:
    account: str
    amount_minor: int


@dataclass(frozen=True)
class Links:
    """The ids that explain an entry; what support and reconciliation join on."""

    trade_id: str | None = None
    quote_id: str | None = None
    payin_id: str | None = None
    related_entry_id: str | None = None
    funding_reference: str | None = None
    partner_order_id: str | None = None


@dataclass(frozen=True)
class EntryDraft:
    type: str
    currency: str
    lines: tuple[Line, ...]
    links: Links = field(default_factory=Links)
    reason: str | None = None


@dataclass(frozen=True)
class Balance:
    available_minor: int = 0
    reserved_minor: int = 0

    @property
    def total_minor(self) -> int:
        return self.available_minor + self.reserved_minor


@dataclass(frozen=True)
class LedgerHead:
    partner_id: str
    sequence: int
    hash: str


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    partner_id: str
    sequence: int
    type: str
    currency: str
    amount_minor: int
    available_after_minor: int
    reserved_after_minor: int
    lines: tuple[Line, ...]
    links: Links
    reason: str | None
    request_id: str
    created_at: str
    prev_hash: str
    hash: str
    hash_version: int = HASH_VERSION

    def hash_payload(self) -> dict[str, Any]:
        """What the entry's hash covers, by its chain version."""
        if self.hash_version == HASH_VERSION_EXPORT:
            return self.export_hash_payload()
        assert self.hash_version == HASH_VERSION_LINES, self.hash_version
        return self.lines_hash_payload()

    def export_hash_payload(self) -> dict[str, Any]:
        """Version 2: the fields of the export row (amounts in minor units), the partner and
        the currency; no journal lines and no reason, which the export does not carry."""
        return {
            "v": HASH_VERSION_EXPORT,
            "id": self.id,
            "partner_id": self.partner_id,
            "currency": self.currency,
            "sequence": self.sequence,
            "type": self.type,
            "amount_minor": self.amount_minor,
            "available_after_minor": self.available_after_minor,
            "reserved_after_minor": self.reserved_after_minor,
            "trade_id": self.links.trade_id,
            "quote_id": self.links.quote_id,
            "payin_id": self.links.payin_id,
            "related_entry_id": self.links.related_entry_id,
            "partner_order_id": self.links.partner_order_id,
            "funding_reference": self.links.funding_reference,
            "request_id": self.request_id,
            "created_at": self.created_at,
        }

    def lines_hash_payload(self) -> dict[str, Any]:
        """Version 1: all stored fields but the hash itself (entries written before 0009)."""
        return {
            "id": self.id,
            "partner_id": self.partner_id,
            "sequence": self.sequence,
            "type": self.type,
            "currency": self.currency,
            "amount_minor": self.amount_minor,
            "available_after_minor": self.available_after_minor,
            "reserved_after_minor": self.reserved_after_minor,
            "lines": [[line.account, line.amount_minor] for line in self.lines],
            "trade_id": self.links.trade_id,
            "quote_id": self.links.quote_id,
            "payin_id": self.links.payin_id,
            "related_entry_id": self.links.related_entry_id,
            "funding_reference": self.links.funding_reference,
            "partner_order_id": self.links.partner_order_id,
            "reason": self.reason,
            "request_id": self.request_id,
            "created_at": self.created_at,
        }


# A stored entry as one plain tuple, in this column order: what bulk reads (``verify``, the
# finance export) take a million of. Building a ``LedgerEntry`` (three objects, a JSON parse of
# the lines) costs several times the read itself, so the bulk paths work on these and build an
# entry only for a row they must report on.
ENTRY_ROW_FIELDS = (
    "partner_id",
    "sequence",
    "id",
    "type",
    "currency",
    "amount_minor",
    "available_after_minor",
    "reserved_after_minor",
    "lines",
    "trade_id",
    "quote_id",
    "payin_id",
    "related_entry_id",
    "funding_reference",
    "partner_order_id",
    "reason",
    "request_id",
    "created_at",
    "prev_hash",
    "hash",
    "hash_version",
)
_Opt = str | None
EntryRow = tuple[
    str, int, str, str, str, int, int, int, str, _Opt, _Opt, _Opt, _Opt, _Opt, _Opt, _Opt,
    str, str, str, str, int,
]  # fmt: skip


def entry_from_values(row: EntryRow) -> LedgerEntry:
    """The ``LedgerEntry`` of a stored row (``ENTRY_ROW_FIELDS`` order)."""
    (
        partner_id,
        sequence,
        entry_id,
        entry_type,
        currency,
        amount,
        available,
        reserved,
        lines,
        trade_id,
        quote_id,
        payin_id,
        related,
        funding_reference,
        partner_order_id,
        reason,
        request_id,
        created_at,
        prev_hash,
        entry_hash,
        version,
    ) = row
    return LedgerEntry(
        id=entry_id,
        partner_id=partner_id,
        sequence=int(sequence),
        type=entry_type,
        currency=currency,
        amount_minor=int(amount),
        available_after_minor=int(available),
        reserved_after_minor=int(reserved),
        lines=lines_from_json(lines),
        links=Links(
            trade_id=trade_id,
            quote_id=quote_id,
            payin_id=payin_id,
            related_entry_id=related,
            funding_reference=funding_reference,
            partner_order_id=partner_order_id,
        ),
        reason=reason,
        request_id=request_id,
        created_at=created_at,
        prev_hash=prev_hash,
        hash=entry_hash,
        hash_version=int(version),
    )


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else str(encode_basestring(value))


# What JSON escapes in a string (ensure_ascii off): quote, backslash, control characters; and
# the apostrophe, which the text of a ``bytes`` value (SQLite hands back a BLOB as bytes) has.
_NOT_PLAIN = re.compile(r"[\x00-\x1f\"\\']")
_Q = '"'


def export_hash_input(row: EntryRow) -> bytes:
    """What a version-2 entry's hash is the sha256 of: ``prev_hash`` and the canonical JSON of
    ``export_hash_payload``, written out directly (keys in sorted order) because ``json.dumps``
    with ``sort_keys`` costs more than the hash. Strings with nothing to escape (ids, hashes,
    timestamps: all of them, in practice) are quoted as they are, after one check over all of
    them; any other row goes through the JSON module's own string encoder. Byte-identical to
    ``chain_hash``'s input (tests/unit/ledger hold it to that). A row whose numbers are not
    ints raises ``ValueError``; callers compare the result with the stored hash, so a
    difference only ever sends a row down the slow path, never to a wrong verdict."""
    if _NOT_PLAIN.search(
        f"{row[0]}{row[2]}{row[3]}{row[4]}{row[9]}{row[10]}{row[11]}{row[12]}{row[13]}"
        f"{row[14]}{row[16]}{row[17]}"
    ):
        return _export_hash_input_escaped(row)
    q = _Q
    return (
        f"{row[18]}{{"
        f'"amount_minor":{row[5]:d},"available_after_minor":{row[6]:d},'
        f'"created_at":"{row[17]}","currency":"{row[4]}",'
        f'"funding_reference":{"null" if row[13] is None else q + row[13] + q},'
        f'"id":"{row[2]}","partner_id":"{row[0]}",'
        f'"partner_order_id":{"null" if row[14] is None else q + row[14] + q},'
        f'"payin_id":{"null" if row[11] is None else q + row[11] + q},'
        f'"quote_id":{"null" if row[10] is None else q + row[10] + q},'
        f'"related_entry_id":{"null" if row[12] is None else q + row[12] + q},'
        f'"request_id":"{row[16]}","reserved_after_minor":{row[7]:d},"sequence":{row[1]:d},'
        f'"trade_id":{"null" if row[9] is None else q + row[9] + q},'
        f'"type":"{row[3]}","v":{HASH_VERSION_EXPORT}}}'
    ).encode()


def _export_hash_input_escaped(row: EntryRow) -> bytes:
    s, o = encode_basestring, _json_or_null
    return (
        f"{row[18]}{{"
        f'"amount_minor":{row[5]:d},"available_after_minor":{row[6]:d},'
        f'"created_at":{s(row[17])},"currency":{s(row[4])},'
        f'"funding_reference":{o(row[13])},"id":{s(row[2])},"partner_id":{s(row[0])},'
        f'"partner_order_id":{o(row[14])},"payin_id":{o(row[11])},"quote_id":{o(row[10])},'
        f'"related_entry_id":{o(row[12])},"request_id":{s(row[16])},'
        f'"reserved_after_minor":{row[7]:d},"sequence":{row[1]:d},"trade_id":{o(row[9])},'
        f'"type":{s(row[3])},"v":{HASH_VERSION_EXPORT}}}'
    ).encode()


@dataclass(frozen=True)
class Posting:
    """What ``append`` returns: the new entries, the new head and the balances they leave."""

    entries: tuple[LedgerEntry, ...]
    head: LedgerHead
    balances: Mapping[str, Balance]


# ``canonical_json``'s settings in one encoder made once: ``json.dumps`` with any option builds
# a new encoder per call, and hashing and exports call it per entry
CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    return CANONICAL_ENCODER.encode(value)


def lines_to_json(lines: Sequence[Line]) -> str:
    return canonical_json([[line.account, line.amount_minor] for line in lines])


# the C scanner behind ``json.loads`` (typeshed types it as a class, hence the cast)
_scan_json = cast(
    Callable[[str, int], tuple[Any, int]],
    json.scanner.make_scanner(json.JSONDecoder()),  # type: ignore[arg-type]
)


def lines_value(text: str) -> Any:
    """``json.loads`` of a stored ``lines`` column, for bulk readers: the decoder's own scanner
    called directly, without ``loads``' per-call set-up. Text that is not exactly one JSON
    value (whitespace around it, garbage after it) goes through ``json.loads`` itself, so the
    result, or the error, is always ``loads``'."""
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def lines_from_json(text: str) -> tuple[Line, ...]:
    return tuple(Line(str(account), int(amount)) for account, amount in json.loads(text))


def chain_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode()).hexdigest()


def partner_deltas(lines: Iterable[Line]) -> tuple[int, int]:
    available = sum(line.amount_minor for line in lines if line.account == AVAILABLE)
    reserved = sum(line.amount_minor for line in lines if line.account == RESERVED)
    return available, reserved


def journal_problems(
    draft_type: str, lines: Sequence[Line], links: Links, reason: str | None = None
) -> list[str]:
    """Structural invariants of one journal; empty when it is sound."""
    problems = []
    if draft_type not in ENTRY_TYPES:
        problems.append(f"unknown entry type {draft_type!r}")
    if sum(line.amount_minor for line in lines) != 0:
        problems.append("journal lines do not sum to zero")
    for line in lines:
        if line.account not in PARTNER_ACCOUNTS | PLATFORM_ACCOUNTS:
            problems.append(f"unknown account {line.account!r}")
        if line.amount_minor == 0:
            problems.append("zero line")
    if not any(line.account in PARTNER_ACCOUNTS for line in lines):
        problems.append("journal does not touch the partner")
    if draft_type in NEEDS_TRADE and not links.trade_id:
        problems.append(f"{draft_type} without trade id")
    if draft_type in NEEDS_RELATED and not links.related_entry_id:
        problems.append(f"{draft_type} does not link the entry it unwinds")
    if draft_type == PAYIN_CREDIT and not links.payin_id:
        problems.append("payin_credit without pay-in id")
    if draft_type == ADJUSTMENT and not reason:
        problems.append("adjustment without a reason")
    return problems


def append(
    head: LedgerHead,
    balances: Mapping[str, Balance],
    drafts: Sequence[EntryDraft],
    *,
    currencies: Currencies,
    request_id: str,
    now: datetime,
    credit_limits_minor: Mapping[str, int] | None = None,
) -> Posting:
    """Turn drafts into chained entries, refusing any that would overdraw ``available``.

    Drafts apply in order and all or none: one refusal refuses the batch (callers that want
    per-command outcomes call ``append`` per command).
    """
    limits_minor = credit_limits_minor or {}
    created_at = to_rfc3339(now)
    running = dict(balances)
    sequence, prev_hash = head.sequence, head.hash
    entries = []
    for draft in drafts:
        problems = journal_problems(draft.type, draft.lines, draft.links, draft.reason)
        assert not problems, problems
        before = running.get(draft.currency, Balance())
        d_available, d_reserved = partner_deltas(draft.lines)
        after = Balance(before.available_minor + d_available, before.reserved_minor + d_reserved)
        floor = -limits_minor.get(draft.currency, 0)
        if after.available_minor < floor:
            raise insufficient(currencies, draft.currency, -d_available, before.available_minor)
        assert after.reserved_minor >= 0, ("reserved would go negative", draft)
        if max(after.available_minor, after.reserved_minor) > limits.BALANCE_MINOR_MAX:
            raise AmountOutOfRange(
                f"This would take the {draft.currency} balance above the largest balance held "
                f"({currencies.format(limits.BALANCE_MINOR_MAX, draft.currency)}); nothing was "
                "written.",
                currency=draft.currency,
            )
        sequence += 1
        entry = LedgerEntry(
            id=ids.new_id(ids.LEDGER_ENTRY),
            partner_id=head.partner_id,
            sequence=sequence,
            type=draft.type,
            currency=draft.currency,
            amount_minor=d_available if d_available != 0 else d_reserved,
            available_after_minor=after.available_minor,
            reserved_after_minor=after.reserved_minor,
            lines=draft.lines,
            links=draft.links,
            reason=draft.reason,
            request_id=request_id,
            created_at=created_at,
            prev_hash=prev_hash,
            hash="",
        )
        entry = replace(entry, hash=chain_hash(prev_hash, entry.hash_payload()))
        entries.append(entry)
        running[draft.currency] = after
        prev_hash = entry.hash
    return Posting(tuple(entries), LedgerHead(head.partner_id, sequence, prev_hash), running)


def insufficient(
    currencies: Currencies, currency: str, requested_minor: int, available_minor: int
) -> InsufficientBalance:
    shortfall = requested_minor - available_minor
    return InsufficientBalance(
        f"Available {currency} balance {currencies.format(available_minor, currency)} does not "
        f"cover {currencies.format(requested_minor, currency)}; fund the balance or lower the "
        "amount.",
        currency=currency,
        requested=currencies.format(requested_minor, currency),
        available=currencies.format(available_minor, currency),
        shortfall=currencies.format(shortfall, currency),
    )


def payin_credit(
    currency: str,
    amount_minor: int,
    payin_id: str,
    funding_reference: str | None,
    source: str = PLATFORM_BANK,
) -> EntryDraft:
    """Credit a pay-in: straight from the bank when attributed on arrival, or out of
    ``platform:suspense`` when an operator attributes it from the review queue."""
    assert amount_minor > 0
    assert source in (PLATFORM_BANK, PLATFORM_SUSPENSE), source
    return EntryDraft(
        type=PAYIN_CREDIT,
        currency=currency,
        lines=(Line(source, -amount_minor), Line(AVAILABLE, amount_minor)),
        links=Links(payin_id=payin_id, funding_reference=funding_reference),
    )


SUSPENSE_PARK = "suspense_park"
SUSPENSE_RETURN = "suspense_return"


@dataclass(frozen=True)
class PlatformEntry:
    """A journal of the platform alone: a pay-in parked in suspense, or sent back from it."""

    id: str
    type: str
    currency: str
    amount_minor: int
    lines: tuple[Line, ...]
    payin_id: str
    request_id: str
    created_at: str

    def __post_init__(self) -> None:
        assert self.type in (SUSPENSE_PARK, SUSPENSE_RETURN), self.type
        assert self.amount_minor > 0
        assert sum(line.amount_minor for line in self.lines) == 0, self.lines
        assert all(line.account in PLATFORM_ACCOUNTS for line in self.lines), self.lines


def suspense_entry(
    kind: str, currency: str, amount_minor: int, payin_id: str, request_id: str, now: datetime
) -> PlatformEntry:
    """Park a received, unattributed pay-in in suspense, or return it to the sender."""
    into = 1 if kind == SUSPENSE_PARK else -1
    return PlatformEntry(
        id=ids.new_id("pje_"),
        type=kind,
        currency=currency,
        amount_minor=amount_minor,
        lines=(
            Line(PLATFORM_BANK, -into * amount_minor),
            Line(PLATFORM_SUSPENSE, into * amount_minor),
        ),
        payin_id=payin_id,
        request_id=request_id,
        created_at=to_rfc3339(now),
    )


def payin_reversal(
    currency: str, amount_minor: int, payin_id: str, credit_entry_id: str, reason: str
) -> EntryDraft:
    """A bank recall of a credited pay-in: the credit is taken back, linked to it."""
    assert amount_minor > 0
    return EntryDraft(
        type=PAYIN_REVERSAL,
        currency=currency,
        lines=(Line(AVAILABLE, -amount_minor), Line(PLATFORM_BANK, amount_minor)),
        links=Links(payin_id=payin_id, related_entry_id=credit_entry_id),
        reason=reason,
    )


def adjustment(currency: str, amount_minor: int, reason: str) -> EntryDraft:
    """An operator's correction of ``available`` by ``amount_minor`` (signed), with a reason."""
    assert amount_minor != 0 and reason
    return EntryDraft(
        type=ADJUSTMENT,
        currency=currency,
        lines=(Line(AVAILABLE, amount_minor), Line(PLATFORM_ADJUSTMENTS, -amount_minor)),
        reason=reason,
    )


@dataclass(frozen=True)
class EntryFilter:
    currency: str | None = None
    type: str | None = None
    trade_id: str | None = None
    created_gte: str | None = None
    created_lt: str | None = None

"""``zeropools verify``: replay every partner's ledger and report every mismatch.

Per partner, one read snapshot: the hash chain and balances (``ChainCheck``) and, in the same
pass, the ledger heads its events published (``PublishedHeads``); then every trade and pay-in
against its entries (``trade_problems``, ``payin_problems``), streamed and joined a batch at a
time. Checked from the trade and pay-in rows: an entry naming an id that has no row
is not reported (the store's own contract tests post such entries on purpose).
"""

from __future__ import annotations

import base64
import functools
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Generic, TypeVar, cast

from zeropools.domain import limits
from zeropools.domain.exports import Mark, checkpoint_text, day_window
from zeropools.domain.ledger import GENESIS_HASH, Balance, entry_from_values
from zeropools.domain.money import CURRENCY_SCALES_SETTING, DEFAULT_SCALES, Currencies
from zeropools.domain.periods import SigningKey
from zeropools.domain.verify import (
    ChainCheck,
    DeferredUnwind,
    Problem,
    PublishedHead,
    PublishedHeads,
    in_units,
    payin_problems,
    trade_problems,
    trade_rows_sound,
    unwind_problems,
)
from zeropools.services.signing import key_id, verify_signature
from zeropools.store.protocol import Store, Tx

T = TypeVar("T")


@dataclass
class VerifyReport:
    partners: int = 0
    entries: int = 0
    trades: int = 0
    payins: int = 0
    heads: int = 0  # ledger heads published on events, held against the chain
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _PartnerCheck:
    entries: int = 0
    trades: int = 0
    payins: int = 0
    heads: int = 0
    problems: list[Problem] = field(default_factory=list)


def stored_currencies(store: Store) -> Currencies:
    return store.read(_pinned_scales)


def _pinned_scales(tx: Tx) -> Currencies:
    """The scales the stored amounts (and signed checkpoints) were written with, pinned on
    start; defaults for currencies never pinned."""
    text = tx.get_setting(CURRENCY_SCALES_SETTING)
    pinned: dict[str, int] = json.loads(text) if text else {}
    return Currencies({**DEFAULT_SCALES, **pinned})


def verify(
    store: Store,
    on_partner: Callable[[str], None] | None = None,
    *,
    checkpoints: bool = False,
    jobs: int | None = 1,
    opener: Callable[[str], Store] | None = None,
) -> VerifyReport:
    """Replay every ledger; with ``checkpoints``, also hold it against every signed close.

    With ``jobs`` > 1 and an ``opener`` (the function that opens a store from its URL), the
    partners are checked by that many worker processes, each with its own store: partners are
    independent, and replaying is CPU work that one process does on one core. A partner of
    ``SPLIT_ENTRIES_MIN`` entries or more is checked as ``jobs`` ranges of its chain
    (``_check_range``, put together by ``_assemble``), so one large ledger uses every worker.
    The report is the same, partners in the same order (a split partner's chain and
    published-head problems are not interleaved batch by batch); worth it for large ledgers
    only (a worker starts in about half a second). ``jobs=None``: every core this process may
    use for ledgers of ``AUTO_JOBS_ENTRIES`` entries or more in all, one process below."""
    report = VerifyReport()
    currencies = stored_currencies(store)
    partner_ids = store.read(lambda tx: tx.partner_ids())
    lengths = (
        store.read(lambda tx: [tx.ledger_head(p).sequence for p in partner_ids])
        if (jobs is None or jobs > 1) and opener is not None
        else []
    )
    if jobs is None:
        jobs = _cores() if sum(lengths) >= AUTO_JOBS_ENTRIES else 1
    if jobs <= 1:
        lengths = []
    tasks = sum(_ranges(n, jobs) + 1 for n in lengths)  # a split partner: its ranges and the rest
    # one small partner: a worker would only add its start-up
    if opener is not None and lengths and tasks > 1:
        with ProcessPoolExecutor(
            # this process is the other one: it takes back what no worker has started
            max_workers=min(jobs, tasks) - 1,
            # spawn, not fork: the parent holds open connections (and a pool's threads)
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open_worker_store,
            initargs=(opener, store.url),
        ) as executor:
            pool = _Pool(executor)
            # every partner's work is submitted before any result is awaited
            pending = [
                _submit_partner(pool, partner_id, length, currencies, checkpoints, jobs)
                for partner_id, length in zip(partner_ids, lengths, strict=True)
            ]
            pool.work_here(store)
            results = (collect(store) for collect in pending)
            _add_partners(report, zip(partner_ids, results, strict=True), on_partner)
    else:
        checked = (
            (partner_id, _check_partner(store, partner_id, currencies, checkpoints))
            for partner_id in partner_ids
        )
        _add_partners(report, checked, on_partner)
    _check_suspense(store, currencies, report)
    return report


# ``verify(jobs=None)`` uses every core from this many entries in all: below it, a worker's
# start-up (about half a second of imports) costs more than it saves.
AUTO_JOBS_ENTRIES = 200_000


def _cores() -> int:
    """The cores this process may run on (its affinity: a container's share, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _check_partner(
    store: Store, partner_id: str, currencies: Currencies, checkpoints: bool
) -> _PartnerCheck:
    # one read transaction per partner: a consistent snapshot of its head and entries
    checked = store.read(functools.partial(_check, partner_id=partner_id, currencies=currencies))
    if checkpoints:
        checked.problems += store.read(
            functools.partial(checkpoint_problems, partner_id=partner_id)
        )
    return checked


_worker_store: Store | None = None  # in a worker process of a parallel verify only


def _open_worker_store(opener: Callable[[str], Store], url: str) -> None:
    global _worker_store
    _worker_store = opener(url)


def _in_worker(call: Callable[[Store], T]) -> T:
    assert _worker_store is not None, "a worker without its store"
    return call(_worker_store)


class _Task(Generic[T]):
    """A check handed to the pool, which this process takes back and runs itself (with its
    own store) if no worker has started it yet: the parent is one of the ``jobs`` workers,
    busy from the moment the work is planned, while a spawned worker spends its first half
    second importing. ``call`` is picklable (a ``partial`` of a module function)."""

    def __init__(self, executor: ProcessPoolExecutor, call: Callable[[Store], T]) -> None:
        self._call = call
        self._future = executor.submit(_in_worker, call)
        self._here: list[T] = []

    def take_back(self, store: Store) -> None:
        if self._future.cancel():  # only a call no worker has picked up can be cancelled
            self._here.append(self._call(store))

    def result(self) -> T:
        return self._here[0] if self._here else self._future.result()


class _Pool:
    """The worker processes and this one: workers take tasks from the front of the queue,
    this process (``work_here``) from the back, so they meet in the middle."""

    def __init__(self, executor: ProcessPoolExecutor) -> None:
        self._executor = executor
        self._tasks: list[_Task[object]] = []

    def submit(self, call: Callable[[Store], T]) -> _Task[T]:
        task = _Task(self._executor, call)
        self._tasks.append(cast(_Task[object], task))
        return task

    def work_here(self, store: Store) -> None:
        for task in reversed(self._tasks):
            task.take_back(store)


# A partner with at least this many entries is checked as ranges of its chain
# (``_check_range``), at least ``jobs`` of them and none longer than ``RANGE_ENTRIES_MAX``, so
# one large ledger uses every core and the workers finish together (the last task to start is
# short); below it a worker checks the whole partner (a range costs a few extra queries and, at
# its start, the stored state of the entry before it).
SPLIT_ENTRIES_MIN = 100_000
RANGE_ENTRIES_MAX = 50_000


def _ranges(length: int, jobs: int) -> int:
    """How many ranges a partner of ``length`` entries is checked as (0: whole)."""
    if length < SPLIT_ENTRIES_MIN:
        return 0
    return max(jobs, -(-length // RANGE_ENTRIES_MAX))


def _submit_partner(
    pool: _Pool,
    partner_id: str,
    length: int,
    currencies: Currencies,
    checkpoints: bool,
    jobs: int,
) -> Callable[[Store], _PartnerCheck]:
    """Hand a partner's check to the pool; returns what waits for it and assembles it."""
    count = _ranges(length, jobs)
    if count == 0:
        whole = pool.submit(
            functools.partial(
                _check_partner,
                partner_id=partner_id,
                currencies=currencies,
                checkpoints=checkpoints,
            )
        )
        return lambda _store: whole.result()
    bounds = [length * i // count for i in range(count)]
    ranges = [
        pool.submit(
            functools.partial(
                _read_range,
                partner_id=partner_id,
                after=after,
                through=through,
                currencies=currencies,
            )
        )
        for after, through in zip(bounds, [*bounds[1:], None], strict=True)
    ]
    others = pool.submit(
        functools.partial(_read_others, partner_id=partner_id, checkpoints=checkpoints)
    )

    def collect(store: Store) -> _PartnerCheck:
        return _assemble(
            store, partner_id, currencies, [r.result() for r in ranges], others.result()
        )

    return collect


@dataclass
class _RangeCheck:
    """The check of a range of one partner's chain: the entries after sequence ``after``
    through ``through`` (to the end, and the stored head and balances, when None), replayed
    from ``start``, the state the check assumed at ``after``."""

    after: int
    through: int | None
    start: _ChainState
    end: _ChainState
    entries: int
    problems: list[Problem]
    deferred: list[DeferredUnwind]
    finish: list[Problem]  # the last range's: stored head and balances against the replay


@dataclass(frozen=True)
class _ChainState:
    """Where a replay stands: the last entry's sequence and hash, and the balances (zero
    balances left out: a replay treats a currency at zero and one never seen alike)."""

    sequence: int
    hash: str | None  # None: no entry at a range's start (a gap): assume nothing
    balances: tuple[tuple[str, int, int], ...]

    @classmethod
    def of(cls, sequence: int, hash: str | None, balances: Mapping[str, Balance]) -> _ChainState:
        return cls(
            sequence,
            hash,
            tuple(
                (c, b.available_minor, b.reserved_minor)
                for c, b in sorted(balances.items())
                if b != Balance()
            ),
        )

    def chain_check(
        self, partner_id: str, currencies: Currencies, *, defer_unwinds: bool
    ) -> ChainCheck:
        return ChainCheck(
            partner_id,
            currencies,
            sequence=self.sequence,
            prev_hash=self.hash or "",
            balances={c: Balance(a, r) for c, a, r in self.balances},
            defer_unwinds=defer_unwinds,
        )


def _range_start(tx: Tx, partner_id: str, after: int) -> _ChainState:
    """The state the check of a range assumes: the stored entry before it and the balances
    stored with the currencies' last entries up to it. The previous range's replay must end
    there (``_assemble`` checks, and replays the range again from its end if not)."""
    if after == 0:
        return _ChainState.of(0, GENESIS_HASH, {})
    entry = tx.entry_at(partner_id, after)
    if entry is None:
        return _ChainState.of(after, None, {})
    currencies = tx.ledger_state(partner_id).balances
    return _ChainState.of(
        after,
        entry.hash,
        {c: tx.balance_through(partner_id, c, after) for c in currencies},
    )


def _check_range(
    tx: Tx,
    partner_id: str,
    currencies: Currencies,
    after: int,
    through: int | None,
    start: _ChainState | None = None,
) -> _RangeCheck:
    """Replay the range from ``start`` (by default, the stored state at ``after``). Unwinds
    of entries before the range are deferred (``ChainCheck.defer_unwinds``) unless the range
    starts the chain."""
    start = start if start is not None else _range_start(tx, partner_id, after)
    chain = start.chain_check(partner_id, currencies, defer_unwinds=after > 0)
    problems: list[Problem] = []
    for batch in tx.stream_entry_rows(partner_id, after_sequence=after, through_sequence=through):
        problems += chain.feed_rows(batch)
    finish: list[Problem] = []
    if through is None:
        state = tx.ledger_state(partner_id)
        finish = chain.finish(state.head, state.balances)
    return _RangeCheck(
        after,
        through,
        start,
        _ChainState.of(chain.sequence, chain.prev_hash, chain.balances),
        chain.entries,
        problems,
        chain.deferred,
        finish,
    )


@dataclass
class _OtherChecks:
    """What a split partner's ranges do not check: the published heads (against the chain),
    the trades and pay-ins (against their entries), the signed checkpoints."""

    heads_found: list[Problem]
    heads_finish: list[Problem]
    heads: int
    rest: _PartnerCheck


def _check_others(tx: Tx, partner_id: str) -> _OtherChecks:
    published = PublishedHeads(partner_id, _published_heads(tx, partner_id))
    found: list[Problem] = []
    if not published.exhausted:
        hashes = tx.stream_entry_hashes(partner_id)
        try:
            for batch in hashes:
                found += published.feed_hashes(batch)
                if published.exhausted:  # the rest of the chain changes nothing
                    break
        finally:
            hashes.close()  # type: ignore[attr-defined]
    rest = _PartnerCheck()
    _check_trades_and_payins(tx, partner_id, rest)
    return _OtherChecks(found, published.finish(), published.checked, rest)


def _assemble(
    store: Store,
    partner_id: str,
    currencies: Currencies,
    ranges: list[_RangeCheck],
    others: _OtherChecks,
) -> _PartnerCheck:
    """One partner's report from its ranges, as one replay from the start gives it: a range
    whose assumed start is not where the previous one's replay ended (only where the chain
    is broken) is replayed again from there, and deferred unwinds are settled against the
    ledger. The problems are those of one replay; where the chain has problems in several
    batches, chain and published-head problems are not interleaved batch by batch."""
    checked = _PartnerCheck()
    chain_found: list[Problem] = []
    deferred: list[DeferredUnwind] = []
    end: _ChainState | None = None
    for part in ranges:
        if end is not None and part.start != end:
            part = store.read(
                functools.partial(
                    _check_range,
                    partner_id=partner_id,
                    currencies=currencies,
                    after=part.after,
                    through=part.through,
                    start=end,
                )
            )
        chain_found += part.problems
        deferred += part.deferred
        checked.entries += part.entries
        end = part.end

    def settle(tx: Tx) -> list[Problem]:
        return [
            problem
            for unwind in deferred
            for problem in unwind_problems(
                partner_id,
                currencies,
                unwind,
                tx.get_entry(partner_id, unwind.related),
                tx.unwinds_of(partner_id, unwind.related),
            )
        ]

    if deferred:
        # each settled problem goes after the other problems of its entry, as ``feed`` reports
        chain_found = sorted(chain_found + store.read(settle), key=lambda p: p.sequence or 0)
    checked.problems = (
        chain_found
        + others.heads_found
        + ranges[-1].finish
        + others.heads_finish
        + others.rest.problems
    )
    checked.heads = others.heads
    checked.trades, checked.payins = others.rest.trades, others.rest.payins
    return checked


def _read_range(
    store: Store, partner_id: str, after: int, through: int | None, currencies: Currencies
) -> _RangeCheck:
    return store.read(
        functools.partial(
            _check_range, partner_id=partner_id, currencies=currencies, after=after, through=through
        )
    )


def _read_others(store: Store, partner_id: str, checkpoints: bool) -> _OtherChecks:
    others = store.read(functools.partial(_check_others, partner_id=partner_id))
    if checkpoints:
        others.rest.problems += store.read(
            functools.partial(checkpoint_problems, partner_id=partner_id)
        )
    return others


def _add_partners(
    report: VerifyReport,
    checked: Iterable[tuple[str, _PartnerCheck]],
    on_partner: Callable[[str], None] | None,
) -> None:
    for partner_id, partner in checked:
        report.partners += 1
        report.entries += partner.entries
        report.trades += partner.trades
        report.payins += partner.payins
        report.heads += partner.heads
        report.problems += partner.problems
        if on_partner is not None:
            on_partner(partner_id)


def _check_suspense(store: Store, currencies: Currencies, report: VerifyReport) -> None:
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


def _check(tx: Tx, partner_id: str, currencies: Currencies) -> _PartnerCheck:
    checked = _PartnerCheck()
    chain = ChainCheck(partner_id, currencies)
    published = PublishedHeads(partner_id, _published_heads(tx, partner_id))
    for rows in tx.stream_entry_rows(partner_id):
        checked.problems += chain.feed_rows(rows)
        checked.problems += published.feed_rows(rows)
    state = tx.ledger_state(partner_id)
    checked.problems += chain.finish(state.head, state.balances)
    checked.problems += published.finish()
    checked.entries = chain.entries
    checked.heads = published.checked
    _check_trades_and_payins(tx, partner_id, checked)
    return checked


def _check_trades_and_payins(tx: Tx, partner_id: str, checked: _PartnerCheck) -> None:
    _check_trades(tx, partner_id, checked)
    for payins in _batches(tx.stream_payins(partner_id)):
        entries = tx.payin_entries(partner_id, [p.id for p in payins])
        for payin in payins:
            checked.problems += payin_problems(payin, entries.get(payin.id, []))
        checked.payins += len(payins)


def _check_trades(tx: Tx, partner_id: str, checked: _PartnerCheck) -> None:
    batches = tx.stream_trade_rows(partner_id)
    try:
        for batch in batches:
            for facts, rows in batch:
                if not trade_rows_sound(facts, rows):  # then say what is wrong
                    trade = tx.get_trade(facts[0])
                    assert trade is not None, facts
                    entries = [entry_from_values(row) for row in rows]
                    checked.problems += trade_problems(trade, entries)
            checked.trades += len(batch)
    finally:
        batches.close()  # type: ignore[attr-defined]


def _published_heads(tx: Tx, partner_id: str) -> Iterator[PublishedHead]:
    """The ``ledger_head`` of every event of the partner's stream, read from the bodies by the
    database a batch at a time (events written before heads were published have none and are
    skipped)."""
    batches = tx.stream_published_heads(partner_id)
    try:
        for batch in batches:
            for event_id, sequence, head_hash in batch:
                if sequence is not None or head_hash is not None:
                    yield PublishedHead(event_id, int(sequence), str(head_hash))
    finally:
        batches.close()  # type: ignore[attr-defined]


def _batches(items: Iterator[T]) -> Iterator[Sequence[T]]:
    while batch := list(islice(items, limits.IN_LIST_VALUES_MAX)):
        yield batch


def checkpoint_problems(tx: Tx, *, partner_id: str) -> list[Problem]:
    """Every signed checkpoint of the partner against the stored chain.

    A consistent rewrite of closed history (entries changed, hashes, head and balances
    recomputed) passes the replay above, but not this: the signed ``head_hash`` names the hash
    the day ended with, and only the private key, which the database never holds, could sign a
    new one. Checked per checkpoint: the signature with the published key (whose id must be
    derived from it), the signed text against the stored columns, and the ledger's entry at
    ``last_sequence``: its hash, currency and balances, and that it is still the currency's
    last entry before the day's end (nothing was slipped into the closed day).
    """
    keys: dict[str, SigningKey] = {key.id: key for key in tx.signing_keys()}
    found: list[Problem] = []
    scales = _pinned_scales(tx)
    for period in tx.list_periods(partner_id):
        window = day_window(period.date, period.tz)
        for close in period.currencies:
            where = f"checkpoint {period.date} {close.currency}"

            def problem(
                message: str, where: str = where, sequence: int = close.closing.sequence
            ) -> None:
                found.append(Problem(partner_id, sequence, f"{where}: {message}"))

            key = keys.get(close.signing_key_id)
            if key is None:
                problem(f"signed by unpublished key {close.signing_key_id}")
            elif key_id(base64.b64decode(key.public_key)) != key.id:
                problem(f"published key {key.id} is not the key its id derives from")
            elif not verify_signature(key.public_key, close.checkpoint, close.signature):
                problem("signature does not verify")
            expected = checkpoint_text(
                partner_id=partner_id,
                currency=close.currency,
                window=window,
                closing=close.closing,
                currencies=scales,
            )
            if expected != close.checkpoint:
                problem("stored closing values differ from the signed checkpoint")
            last = tx.last_entry_before(partner_id, close.currency, window.ends_at)
            if Mark.after(last) != close.closing:
                problem(
                    "the ledger no longer ends the day where the signed checkpoint says "
                    f"(#{close.closing.sequence} {close.closing.hash[:12]}...)"
                )
    return found

"""Balance changes: why a balance moved in a window, rolled forward over every entry of it.

Goal: over random windows of a ledger with every kind of entry (credits, reservations,
settlements that move only ``reserved``, releases, failures, returns, a recall, an adjustment)
in two currencies, ``opening`` is the balance before the window's first entry, ``closing`` the
balance after its last, opening + the sum of the entries = closing for ``available`` and
``reserved``, ``credits``/``debits``/``by_type`` add up the window, and ``entries`` is its first
page with ``has_more`` telling the rest; this holds even when two requests were sequenced in the
other order than their clocks; the default window is the current UTC day so far; bad windows
and unknown currencies are refused.
Method: a reserve-model partner laid out through the services on a fixed clock, windows drawn
by a seeded ``random.Random``, each answer compared with a replay of ``entries_of``; SQLite and
PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from recon_support import DAY_BEFORE, Book, at

from support import ctx_for, entries_of, send_payin
from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import NotFound, ValidationFailed
from zeropools.domain.ledger import LedgerEntry, partner_deltas
from zeropools.services import adjustments, balances
from zeropools.services.context import Deployment

WINDOWS = 60


def busy_ledger(dep: Deployment) -> Book:
    book = Book.open(dep, balance_model="reserve")
    book.fund("1000.00", at(8, day=DAY_BEFORE))
    first = book.trade("100.00", "a", at(9, day=DAY_BEFORE))
    book.move(first.id, "settled", at(9, 30, day=DAY_BEFORE))
    steps = [("released", 10), ("failed", 11), ("settled", 12), ("returned", 13)]
    for n, (status, hour) in enumerate(steps):
        trade = book.trade(f"{20 + n}.00", f"o-{n}", at(hour))
        if status == "returned":
            book.move(trade.id, "settled", at(hour, 10))
        book.move(trade.id, status, at(hour, 20))
    credit = book.fund("50.00", at(14))
    book.recall(credit.id, at(14, 30))
    adjustments.adjust(
        dep,
        ctx_for("operator", now=at(15)),
        partner_id=book.partner_id,
        currency="EUR",
        amount="-1.25",
        reason="fee",
    )
    book.trade("30.00", "open", at(16))
    return book


def replay(entries: list[LedgerEntry], currency: str, gte: str, lt: str) -> dict[str, object]:
    mine = [e for e in entries if e.currency == currency]
    before = [e for e in mine if e.created_at < gte]
    inside = [e for e in mine if gte <= e.created_at < lt]
    opening = (
        (before[-1].available_after_minor, before[-1].reserved_after_minor) if before else (0, 0)
    )
    available, reserved = opening
    credits = debits = 0
    by_type: dict[str, tuple[int, int]] = {}
    for entry in inside:
        d_available, d_reserved = partner_deltas(entry.lines)
        available, reserved = available + d_available, reserved + d_reserved
        credits += max(d_available, 0)
        debits += min(d_available, 0)
        count, amount = by_type.get(entry.type, (0, 0))
        by_type[entry.type] = (count + 1, amount + entry.amount_minor)
    return {
        "opening": opening,
        "closing": (available, reserved),
        "credits": credits,
        "debits": debits,
        "by_type": by_type,
        "ids": [e.id for e in inside],
    }


def test_random_windows_roll_forward_from_opening_to_closing(dep: Deployment) -> None:
    book = busy_ledger(dep)
    entries = entries_of(dep, book.partner_id)
    assert {e.type for e in entries} >= {
        "payin_credit",
        "trade_reserve",
        "trade_settle",
        "trade_release",
        "buy_return",
        "payin_reversal",
        "adjustment",
    }
    times = sorted({e.created_at for e in entries})
    start = datetime(2026, 11, 22, tzinfo=UTC)
    rng = random.Random(9)
    for _ in range(WINDOWS):
        # edges on entry times sometimes, anywhere in the two days otherwise
        edges = [
            rng.choice(times)
            if rng.random() < 0.4
            else to_rfc3339(start + timedelta(seconds=rng.randrange(2 * 86_400)))
            for _ in range(2)
        ]
        gte, lt = sorted(edges)
        page_size = rng.choice([1, 2, 5, 100])
        view = balances.balance_changes(
            dep,
            book.admin(),
            partner_id=None,
            currency="EUR",
            created_gte=gte,
            created_lt=lt,
            page_size=page_size,
        )
        expected = replay(entries, "EUR", gte, lt)
        changes = view.changes
        opening = (changes.opening.available_minor, changes.opening.reserved_minor)
        closing = (changes.closing.available_minor, changes.closing.reserved_minor)
        assert (opening, closing) == (expected["opening"], expected["closing"]), (gte, lt)
        assert (changes.credits_minor, changes.debits_minor) == (
            expected["credits"],
            expected["debits"],
        )
        assert opening[0] + changes.credits_minor + changes.debits_minor == closing[0]
        by_type = {k: (v.count, v.amount_minor) for k, v in changes.by_type.items()}
        assert by_type == expected["by_type"]
        ids = expected["ids"]
        assert isinstance(ids, list)
        assert [e.id for e in view.first_entries] == ids[:page_size]
        assert view.has_more == (len(ids) > page_size) and changes.entries == len(ids)


def test_requests_sequenced_against_their_clocks_still_roll_forward_exactly(
    dep: Deployment,
) -> None:
    book = Book.open(dep)
    book.fund("10.00", at(9, 0, 2))
    # sequenced after the first, but its request started a second earlier
    send_payin(dep, "late-clock", "5.00", reference=book.reference, ctx=ctx_for(now=at(9, 0, 1)))
    view = balances.balance_changes(
        dep,
        book.admin(),
        partner_id=None,
        currency="EUR",
        created_gte="2026-11-23T09:00:01.500000Z",
        created_lt="2026-11-23T10:00:00Z",
        page_size=10,
    )
    changes = view.changes
    # the window is a run of sequences: from the first entry at or after `from` to the end
    assert [e.sequence for e in view.first_entries] == [1, 2]
    assert (changes.opening.available_minor, changes.closing.available_minor) == (0, 1500)


def test_the_default_window_is_today_so_far_and_bad_windows_are_refused(
    dep: Deployment,
) -> None:
    book = Book.open(dep)
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    book.fund("10.00", midnight)
    view = balances.balance_changes(
        dep,
        book.admin(now),
        partner_id=None,
        currency="EUR",
        created_gte=None,
        created_lt=None,
        page_size=10,
    )
    assert (view.created_gte, view.created_lt) == (to_rfc3339(midnight), to_rfc3339(now))
    assert view.changes.closing.available_minor == 1000
    bad = [
        {"created_gte": "2026-11-23T10:00:00Z", "created_lt": "2026-11-23T09:00:00Z"},
        {"created_gte": "2026-11-23", "created_lt": None},
        {"created_gte": "2024-01-01T00:00:00Z", "created_lt": "2026-01-01T00:00:00Z"},
    ]
    for window in bad:
        with pytest.raises(ValidationFailed):
            balances.balance_changes(
                dep, book.admin(), partner_id=None, currency="EUR", page_size=10, **window
            )
    with pytest.raises(NotFound):
        balances.balance_changes(
            dep,
            book.admin(),
            partner_id=None,
            currency="USD",
            created_gte=None,
            created_lt=None,
            page_size=10,
        )

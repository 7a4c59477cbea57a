"""Finding 4: a *consistent* rewrite of a ledger no longer passes ``verify``.

Goal: someone with database access inflates an old pay-in credit and recomputes every later
balance, every hash, the head and the stored balances; or deletes a trade's last entry and rolls
the head and balance back. The chain alone is then perfect again, so ``verify`` must catch it by
holding pay-ins and trades against their entries, and by holding the heads published on the
partner's events (``ledger_head``) against the chain: even a rewrite that fixes the pay-in row
too leaves those naming hashes the chain no longer has.

Method: real deployments on both stores, money moved through the services (pay-ins, a trade);
the rewrite with ``support.tamper.rewrite_chain`` (append-only triggers dropped first); checks
that the untouched ledger verifies clean, that the rewritten chain alone replays clean (so the
rewrite is the hard case, not a broken hash), and what ``verify`` then reports.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from support import ctx_for, entries_of, onboard, reference_of, send_payin
from support.tamper import drop_append_only_triggers, raw, rewrite_chain
from zeropools.domain.ledger import PAYIN_CREDIT, LedgerEntry, Line
from zeropools.domain.paging import Page
from zeropools.domain.verify import ChainCheck
from zeropools.services import events, trading
from zeropools.services.context import Deployment
from zeropools.services.verify import verify


def _chain_alone_is_clean(dep: Deployment, partner_id: str) -> None:
    check = ChainCheck(partner_id)
    problems = [p for e in entries_of(dep, partner_id) for p in check.feed(e)]
    state = dep.store.read(lambda tx: tx.ledger_state(partner_id))
    problems += check.finish(state.head, state.balances)
    assert problems == [], problems


def _published_heads(dep: Deployment, partner_id: str) -> list[dict[str, Any]]:
    found = events.list_events(
        dep, ctx_for(), partner_id=partner_id, after_sequence=0, types=[], page=Page.of(1000)
    )
    return [json.loads(e.body)["ledger_head"] for e in found]


def _execute(dep: Deployment, partner_id: str, amount: str, order: str) -> str:
    server = ctx_for("partner_server", partner_id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount=amount, partner_order_id=None
    )
    return trading.execute_trade(
        dep, server, quote_id=quote.quote.id, partner_order_id=order
    ).trade.id


def test_every_partner_event_publishes_the_ledger_head_its_transaction_left(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    partner_id = new.partner.id
    send_payin(dep, "HEAD-1", "100.00", reference=reference_of(new))
    trade_id = _execute(dep, partner_id, "40.00", "o-1")
    trading.move_trade(dep, ctx_for(), trade_id, "failed", reason="venue down")
    chain = {e.sequence: e.hash for e in entries_of(dep, partner_id)}
    found = events.list_events(
        dep, ctx_for(), partner_id=partner_id, after_sequence=0, types=[], page=Page.of(1000)
    )
    bodies = [json.loads(e.body) for e in found]
    assert [(b["type"], b["ledger_head"]["sequence"]) for b in bodies] == [
        ("payin.credited", 1),
        ("trade.debited", 2),
        ("trade.failed", 3),
    ]
    for body in bodies:
        assert body["ledger_head"]["hash"] == chain[body["ledger_head"]["sequence"]]
    # the platform stream has no ledger: its events carry no head
    send_payin(dep, "NOBODY", "5.00", reference=None, remittance_info="no reference")
    platform = events.list_events(
        dep, ctx_for(), partner_id=None, after_sequence=0, types=[], page=Page.of(10)
    )
    assert [json.loads(e.body)["ledger_head"] for e in platform] == [None]


def test_an_old_credit_inflated_with_every_hash_recomputed_fails_verify(dep: Deployment) -> None:
    new = onboard(dep)
    partner_id = new.partner.id
    inflated = send_payin(dep, "OLD", "10.00", reference=reference_of(new)).payin
    send_payin(dep, "LATER", "50.00", reference=reference_of(new))
    _execute(dep, partner_id, "12.00", "o-after")
    assert verify(dep.store).ok
    witnessed = _published_heads(dep, partner_id)

    def inflate(entries: list[LedgerEntry]) -> list[LedgerEntry]:
        def bigger(entry: LedgerEntry) -> LedgerEntry:
            if entry.type != PAYIN_CREDIT or entry.links.payin_id != inflated.id:
                return entry
            lines = tuple(
                Line(line.account, line.amount_minor * 100) for line in entry.lines
            )  # the journal still sums to zero: the bank side grows with it
            return dataclasses.replace(entry, lines=lines)

        return [bigger(e) for e in entries]

    drop_append_only_triggers(dep)
    rewrite_chain(dep, partner_id, inflate)
    _chain_alone_is_clean(dep, partner_id)  # hashes, head, balances: all consistent again

    # every head the partner was handed since names a hash the chain no longer has
    chain = {e.sequence: e.hash for e in entries_of(dep, partner_id)}
    assert [chain[h["sequence"]] == h["hash"] for h in witnessed] == [False, False, False]

    report = verify(dep.store)
    assert not report.ok
    about_payin = [str(p) for p in report.problems if p.subject is not None]
    assert len(about_payin) == 1, report.problems
    assert f"pay-in {inflated.id}: payin_credit moves 100000, not the pay-in's" in about_payin[0]
    # and verify holds the stored events' heads against the chain too
    heads = sorted(p.sequence or 0 for p in report.problems if p.field == "head")
    assert heads == [1, 2, 3], report.problems
    assert report.heads == 3


def test_an_inflated_credit_with_its_payin_row_rewritten_too_is_caught_by_the_heads(
    dep: Deployment,
) -> None:
    """The rewriter also inflates the pay-in row: trades and pay-ins agree with the entries
    again, and only the heads published on the events still tell."""
    new = onboard(dep)
    partner_id = new.partner.id
    inflated = send_payin(dep, "OLD", "10.00", reference=reference_of(new)).payin
    send_payin(dep, "LATER", "50.00", reference=reference_of(new))
    drop_append_only_triggers(dep)
    rewrite_chain(
        dep,
        partner_id,
        lambda entries: [
            dataclasses.replace(
                e, lines=tuple(Line(x.account, x.amount_minor * 2) for x in e.lines)
            )
            if e.links.payin_id == inflated.id
            else e
            for e in entries
        ],
    )
    raw(dep, "UPDATE payins SET amount_minor = 2000 WHERE id = %s", (inflated.id,))
    report = verify(dep.store)
    assert [p.subject for p in report.problems] == [None, None], report.problems
    assert all(p.field == "head" for p in report.problems)
    assert "published head #1 " in str(report.problems[0])


def test_a_trades_entry_deleted_with_the_head_rolled_back_fails_verify(dep: Deployment) -> None:
    new = onboard(dep)
    partner_id = new.partner.id
    send_payin(dep, "FUND", "100.00", reference=reference_of(new))
    kept = _execute(dep, partner_id, "10.00", "o-kept")
    erased = _execute(dep, partner_id, "25.00", "o-erased")
    assert verify(dep.store).ok
    witnessed = _published_heads(dep, partner_id)

    drop_append_only_triggers(dep)
    chain = rewrite_chain(
        dep, partner_id, lambda entries: [e for e in entries if e.links.trade_id != erased]
    )
    assert [e.sequence for e in chain] == [1, 2]  # the head is back at #2, balance 90.00
    _chain_alone_is_clean(dep, partner_id)

    report = verify(dep.store)
    by_subject = [str(p) for p in report.problems if p.subject is not None]
    assert len(by_subject) == 1, report.problems
    assert f"trade {erased}: is debited but has entries none" in by_subject[0]
    assert kept not in {p.subject for p in report.problems}
    # the partner holds head #3 from trade.debited: the database's chain ends at #2
    assert witnessed[-1]["sequence"] == 3 and max(e.sequence for e in chain) == 2
    ends = [str(p) for p in report.problems if p.field == "head"]
    assert len(ends) == 1 and "published head #3, the ledger ends at #2" in ends[0], ends

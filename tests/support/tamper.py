"""What someone with write access to the database can do: raw SQL, and consistent rewrites.

``rewrite_chain`` is the attack of issue 14's finding 4: change entries of a partner's ledger
and recompute everything ``verify`` replays (every later running balance, every hash from there
on, the stored head and balances), so the chain is internally perfect again. What still catches
it is outside the chain: the trades and pay-ins the entries must agree with, the heads the
partner was handed on its events, signed checkpoints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from zeropools.domain.ledger import GENESIS_HASH, LedgerEntry, chain_hash, partner_deltas
from zeropools.services.context import Deployment
from zeropools.store.sql.ledger import ENTRY_COLUMNS, entry_params


def raw(dep: Deployment, sql: str, params: tuple[Any, ...] = ()) -> None:
    """One statement in its own write transaction, behind every service."""
    dep.store.write(lambda tx: tx._run(sql, params))  # type: ignore[attr-defined]


def drop_append_only_triggers(dep: Deployment) -> None:
    if dep.store.dialect == "sqlite":
        raw(dep, "DROP TRIGGER ledger_entries_no_update")
        raw(dep, "DROP TRIGGER ledger_entries_no_delete")
    else:
        raw(dep, "DROP TRIGGER ledger_entries_append_only ON ledger_entries")


def rewrite_chain(
    dep: Deployment,
    partner_id: str,
    edit: Callable[[list[LedgerEntry]], list[LedgerEntry]],
) -> list[LedgerEntry]:
    """Replace the partner's entries by ``edit(entries)`` with sequences, running balances,
    hashes, head and stored balances recomputed: a rewrite ``verify``'s replay cannot see.
    Needs the append-only triggers dropped first. Returns the rewritten chain."""
    stored = dep.store.read(lambda tx: list(tx.iter_entries(partner_id)))
    chain = _rechained(edit(stored))
    currencies = {e.currency for e in stored}
    placeholders = ", ".join(["%s"] * len(ENTRY_COLUMNS.split(",")))

    def work(tx: Any) -> None:
        tx._run("DELETE FROM ledger_entries WHERE partner_id = %s", (partner_id,))
        for entry in chain:
            tx._run(
                f"INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES ({placeholders})",
                entry_params(entry),
            )
        head = chain[-1] if chain else None
        tx._run(
            "UPDATE partners SET ledger_sequence = %s, ledger_hash = %s WHERE id = %s",
            (head.sequence if head else 0, head.hash if head else GENESIS_HASH, partner_id),
        )
        for currency in currencies:
            last = [e for e in chain if e.currency == currency]
            available = last[-1].available_after_minor if last else 0
            reserved = last[-1].reserved_after_minor if last else 0
            tx._run(
                "UPDATE partner_currencies SET available_minor = %s, reserved_minor = %s "
                "WHERE partner_id = %s AND currency = %s",
                (available, reserved, partner_id, currency),
            )

    dep.store.write(work)
    return chain


def _rechained(entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    balances: dict[str, tuple[int, int]] = {}
    prev_hash = GENESIS_HASH
    chain = []
    for sequence, entry in enumerate(entries, start=1):
        d_available, d_reserved = partner_deltas(entry.lines)
        available, reserved = balances.get(entry.currency, (0, 0))
        available, reserved = available + d_available, reserved + d_reserved
        balances[entry.currency] = (available, reserved)
        moved = dataclasses.replace(
            entry,
            sequence=sequence,
            amount_minor=d_available if d_available != 0 else d_reserved,
            available_after_minor=available,
            reserved_after_minor=reserved,
            prev_hash=prev_hash,
            hash="",
        )
        moved = dataclasses.replace(moved, hash=chain_hash(prev_hash, moved.hash_payload()))
        chain.append(moved)
        prev_hash = moved.hash
    return chain

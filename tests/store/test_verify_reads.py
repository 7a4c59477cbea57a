"""``verify``'s two bulk reads: the heads published in event bodies, and each entry's hash.

Goal: ``verify`` holds the ledger head every event handed the partner against the chain. It
used to page through whole events and ``json.loads`` each body (several times the cost of
replaying the entry); the database now reads ``ledger_head`` out of the body itself
(``stream_published_heads``: SQLite's ``json_extract``, PostgreSQL's ``->``). A split partner's
heads are held against ``stream_entry_hashes`` (two columns) instead of whole rows. Both must
read exactly what the slow way read.

Method: on each store, pay-ins through the services (their events publish heads), then events
written directly with a ``ledger_head`` of ``null``, none at all, and one of another shape;
the rows the store streams are compared with the bodies parsed by ``json.loads`` and with the
entries read one by one.
"""

from __future__ import annotations

import json
from typing import Any

from support import entries_of, onboard, reference_of, send_payin
from zeropools.domain import ids
from zeropools.domain.events import PAYIN_CREDITED, Event
from zeropools.domain.ledger import GENESIS_HASH
from zeropools.services.context import Deployment
from zeropools.store.protocol import Tx


def _add_event(dep: Deployment, stream: str, body: dict[str, Any]) -> str:
    event_id = ids.new_id(ids.EVENT)

    def write(tx: Tx) -> None:
        sequence = tx.reserve_event_sequences(stream, 1)
        tx.insert_events(
            [
                Event(
                    event_id,
                    stream,
                    sequence,
                    PAYIN_CREDITED,
                    "2026-11-23T09:00:00.000000Z",
                    None,
                    json.dumps({"id": event_id, **body}).encode(),
                )
            ]
        )

    dep.store.write(write)
    return event_id


def _streamed(dep: Deployment, partner_id: str) -> list[tuple[str, Any, Any]]:
    def read(tx: Tx) -> list[tuple[str, Any, Any]]:
        return [row for batch in tx.stream_published_heads(partner_id) for row in batch]

    return dep.store.read(read)


def test_the_heads_are_read_from_the_bodies_as_json_loads_reads_them(dep: Deployment) -> None:
    partner = onboard(dep, name="Heads")
    partner_id = partner.partner.id
    for n in range(3):
        send_payin(dep, f"HEADS-{n}", "5.00", reference=reference_of(partner))
    no_head = _add_event(dep, partner_id, {"ledger_head": None})
    absent = _add_event(dep, partner_id, {"object": "event"})
    listed = _add_event(dep, partner_id, {"ledger_head": [1, 2]})
    later = _add_event(
        dep, partner_id, {"data": {"ledger_head": "x"}, "ledger_head": {"hash": "h", "sequence": 2}}
    )

    streamed = _streamed(dep, partner_id)
    events = dep.store.read(lambda tx: tx.list_events(partner_id, 0, (), 1000))
    assert [row[0] for row in streamed] == [event.id for event in events]
    by_loads = []
    for event in events:
        head = json.loads(event.body).get("ledger_head")
        by_loads.append((int(head["sequence"]), head["hash"]) if isinstance(head, dict) else None)
    by_database = [
        None if sequence is None and head_hash is None else (int(sequence), str(head_hash))
        for _, sequence, head_hash in streamed
    ]
    assert by_database == by_loads
    # the services' events name real entries; the hand-written ones read as they were written
    heads = dict(zip([row[0] for row in streamed], by_database, strict=True))
    assert [heads[e] for e in (no_head, absent, listed)] == [None, None, None]
    assert heads[later] == (2, "h")
    chain = {0: GENESIS_HASH, **{e.sequence: e.hash for e in entries_of(dep, partner_id)}}
    by_services = [h for e, h in heads.items() if e not in (no_head, absent, listed, later)]
    assert len(by_services) >= 3
    assert all(head is not None and chain[head[0]] == head[1] for head in by_services)


def test_the_entry_hashes_are_the_entries_in_chain_order(dep: Deployment) -> None:
    partner = onboard(dep, name="Hashes")
    for n in range(4):
        send_payin(dep, f"HASHES-{n}", "2.00", reference=reference_of(partner))
    partner_id = partner.partner.id

    def read(tx: Tx) -> list[tuple[int, str]]:
        return [pair for batch in tx.stream_entry_hashes(partner_id) for pair in batch]

    pairs = dep.store.read(read)
    assert pairs == [(e.sequence, e.hash) for e in entries_of(dep, partner_id)]
    assert len(pairs) >= 4

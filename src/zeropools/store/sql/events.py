"""SQL of the events port: the outbox's streams and their events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zeropools.domain.events import Event
from zeropools.store.ports import EventsPort
from zeropools.store.protocol import first
from zeropools.store.sql.executor import Executor, Row, marks

_EVENT_COLUMNS = "stream, sequence, id, type, request_id, created_at, body, subject_id"


def _event(row: Row) -> Event:
    body = row["body"]
    return Event(
        id=row["id"],
        stream=row["stream"],
        sequence=int(row["sequence"]),
        type=row["type"],
        created_at=row["created_at"],
        request_id=row["request_id"],
        body=body.encode() if isinstance(body, str) else bytes(body),
        subject_id=row["subject_id"],
    )


class SqlEvents(EventsPort):
    _ex: Executor

    def reserve_event_sequences(self, stream: str, count: int) -> int:
        # one statement: creates the stream on its first event, and the row lock it takes on
        # PostgreSQL serializes concurrent writers of one stream (gap-free, in commit order)
        rows = self._ex.all(
            "INSERT INTO event_streams (stream, last_sequence) VALUES (%s, %s) "
            "ON CONFLICT (stream) DO UPDATE "
            "SET last_sequence = event_streams.last_sequence + excluded.last_sequence "
            "RETURNING last_sequence",
            (stream, count),
        )
        return int(rows[0]["last_sequence"]) - count + 1

    def insert_events(self, events: Sequence[Event]) -> None:
        self._ex.many(
            f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [_params(e) for e in events],
        )

    def list_events(
        self, stream: str, after_sequence: int, types: Sequence[str], limit: int
    ) -> list[Event]:
        where, params = "stream = %s AND sequence > %s", [stream, after_sequence]
        if types:
            where += f" AND type IN ({', '.join(['%s'] * len(types))})"
            params += list(types)
        rows = self._ex.all(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY sequence LIMIT %s",
            (*params, limit),
        )
        return [_event(row) for row in rows]

    def get_event(self, event_id: str) -> Event | None:
        row = first(self._ex.all(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = %s", (event_id,)))
        return None if row is None else _event(row)

    def last_event_sequence(self, stream: str) -> int:
        rows = self._ex.all("SELECT max(sequence) AS last FROM events WHERE stream = %s", (stream,))
        last = rows[0]["last"] if rows else None
        return 0 if last is None else int(last)

    def events_of(
        self,
        stream: str | None,
        *,
        request_ids: Sequence[str] = (),
        subject_ids: Sequence[str] = (),
        limit: int,
    ) -> list[Event]:
        ors: list[str] = []
        params: list[Any] = []
        for column, values in (("request_id", request_ids), ("subject_id", subject_ids)):
            if values:
                ors.append(f"{column} IN ({marks(len(values))})")
                params += list(values)
        if not ors:
            return []
        where = f"({' OR '.join(ors)})"
        if stream is not None:
            where = f"stream = %s AND {where}"
            params.insert(0, stream)
        rows = self._ex.all(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} "
            "ORDER BY created_at, stream, sequence LIMIT %s",
            (*params, limit),
        )
        return [_event(row) for row in rows]


def _params(event: Event) -> tuple[Any, ...]:
    return (
        event.stream,
        event.sequence,
        event.id,
        event.type,
        event.request_id,
        event.created_at,
        event.body.decode(),
        event.subject_id,
    )

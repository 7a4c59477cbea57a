"""SQL of the events port: the outbox's streams and their events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from zeropools.domain import limits
from zeropools.domain.events import Event
from zeropools.store.ports import EventsPort
from zeropools.store.protocol import first
from zeropools.store.sql.executor import Executor, Row, marks, unindexed

EVENT_COLUMNS = "stream, sequence, id, type, request_id, created_at, body, subject_id"


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
    """A stream's sequences are counted in the transaction after its first reservation: that
    one (an upsert) takes the stream's row lock until the commit, so the next numbers are this
    transaction's alone, and ``SqlTx.before_commit`` stores the last one taken. A batch of one
    partner's commands thus writes its stream's row twice, not once per event."""

    _ex: Executor
    # stream -> (last sequence taken, last sequence stored); None in a transaction whose owner
    # does not call ``before_commit``, where every reservation is stored at once
    _sequences: dict[str, tuple[int, int]] | None

    def reserve_event_sequences(self, stream: str, count: int) -> int:
        held = None if self._sequences is None else self._sequences.get(stream)
        if held is not None and self._sequences is not None:
            if self._ex.before_write is not None:
                # a write as far as savepoints go: one open now is sent (with what it must
                # restore) before the count moves, so a rollback gives the numbers back
                self._ex.before_write("-- event sequences")
            taken, stored = held
            self._sequences[stream] = (taken + count, stored)
            return taken + 1
        # one statement: creates the stream on its first event, and the row lock it takes on
        # PostgreSQL serializes concurrent writers of one stream (gap-free, in commit order)
        rows = self._ex.all(
            "INSERT INTO event_streams (stream, last_sequence) VALUES (%s, %s) "
            "ON CONFLICT (stream) DO UPDATE "
            "SET last_sequence = event_streams.last_sequence + excluded.last_sequence "
            "RETURNING last_sequence",
            (stream, count),
        )
        last = int(rows[0]["last_sequence"])
        if self._sequences is not None:
            self._sequences[stream] = (last, last)
        return last - count + 1

    def _store_sequences(self) -> None:
        """Store every stream's last sequence taken (``SqlTx.before_commit``)."""
        if not self._sequences:
            return
        for stream, (taken, stored) in sorted(self._sequences.items()):
            if taken != stored:
                self._ex.run(
                    "UPDATE event_streams SET last_sequence = %s WHERE stream = %s",
                    (taken, stream),
                )
                self._sequences[stream] = (taken, taken)

    def insert_events(self, events: Sequence[Event]) -> None:
        self._ex.send_many(
            f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
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
            f"SELECT {EVENT_COLUMNS} FROM events WHERE {where} ORDER BY sequence LIMIT %s",
            (*params, limit),
        )
        return [_event(row) for row in rows]

    def get_event(self, event_id: str) -> Event | None:
        row = first(self._ex.all(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = %s", (event_id,)))
        return None if row is None else _event(row)

    def stream_published_heads(self, stream: str) -> Iterator[list[tuple[str, Any, Any]]]:
        # both read the body's JSON in C; SQLite parses a body once for both paths (its parse
        # cache), PostgreSQL once in the subquery
        if self._ex.dialect.name == "sqlite":
            sql = (
                "SELECT id, json_extract(body, '$.ledger_head.sequence'), "
                "json_extract(body, '$.ledger_head.hash') FROM events "
                "WHERE stream = %s ORDER BY sequence"
            )
        else:
            sql = (
                "SELECT id, head ->> 'sequence', head ->> 'hash' FROM "
                "(SELECT id, sequence, body::json -> 'ledger_head' AS head FROM events "
                "WHERE stream = %s) AS e ORDER BY sequence"
            )
        batches = self._ex.stream_tuples(sql, (stream,), limits.BULK_READ_BATCH_ROWS)
        return cast("Iterator[list[tuple[str, Any, Any]]]", batches)

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
        sql, params = events_of_sql(stream, request_ids, subject_ids)
        if not sql:
            return []
        rows = self._ex.all(sql, (*params, limit))
        return [_event(row) for row in rows]


def events_of_sql(
    stream: str | None, request_ids: Sequence[str], subject_ids: Sequence[str]
) -> tuple[str, list[Any]]:
    """``events_of``' statement ("" when there is nothing to look for), its parameters but the
    limit. One SELECT per kind of id, joined by UNION: each is looked up by its own index
    (``events_request``, ``events_subject``); with the two tests ORed in one WHERE, SQLite read
    the partner's every event (or, without a stream, the table's) to test each. By request,
    the stream is tested on the rows found (``unindexed``), or SQLite would take
    ``events_subject`` for the stream alone."""
    parts: list[str] = []
    params: list[Any] = []
    for column, values in (("request_id", request_ids), ("subject_id", subject_ids)):
        if not values:
            continue
        where = f"{column} IN ({marks(len(values))})"
        if stream is not None:
            by_stream = unindexed("stream") if column == "request_id" else "stream"
            where = f"{by_stream} = %s AND {where}"
            params.append(stream)
        params += list(values)
        parts.append(f"SELECT {EVENT_COLUMNS} FROM events WHERE {where}")
    if not parts:
        return "", []
    return f"{' UNION '.join(parts)} ORDER BY created_at, stream, sequence LIMIT %s", params


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

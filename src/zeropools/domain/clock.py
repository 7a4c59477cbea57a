"""Timestamps as the ledger stores and hashes them.

The domain never reads the clock; services pass ``now`` in. Stored times are RFC 3339 UTC strings
with microseconds, so lexical order is time order and the hashed bytes are unambiguous.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime


# a command formats its one ``now`` several times (rows, entries, events, stored answer)
@functools.lru_cache(maxsize=256)
def to_rfc3339(moment: datetime) -> str:
    assert moment.tzinfo is not None, "naive datetimes are a bug: every time here is UTC"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 time; a time without an offset is refused, never guessed."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(UTC)


def utc_now() -> datetime:
    """The one clock read, for services and adapters (never called by the domain)."""
    return datetime.now(UTC)

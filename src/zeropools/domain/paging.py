"""Paging: a page of ``size`` items after a cursor id, fetched as ``size + 1`` rows.

The one extra row tells ``has_more`` without a count query. ``Page.of`` is the one place that
adds it and ``Page.split`` the one place that strips it; the store only ever sees ``limit``, the
number of rows to fetch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    limit: int  # rows to fetch: the page size + 1
    starting_after: str | None = None

    @classmethod
    def of(cls, size: int, starting_after: str | None = None) -> Page:
        return cls(limit=size + 1, starting_after=starting_after)

    @property
    def size(self) -> int:
        return self.limit - 1

    def split(self, rows: Sequence[T]) -> tuple[Sequence[T], bool]:
        """The page's items and whether more follow."""
        return rows[: self.size], len(rows) > self.size

"""Paging: a page asks for ``limit`` items after a cursor id; the store fetches one extra.

``limit`` here is what the store fetches (the caller's page size + 1), so ``has_more`` is known
without a count query; ``zeropools.services.paging`` is the one place that adds and strips it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    limit: int
    starting_after: str | None = None

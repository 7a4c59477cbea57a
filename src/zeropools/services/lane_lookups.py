"""Which partner an operator's trade action is for, found for many requests with one read.

An operator's settle (release, fail, return) names only the trade; its command is scheduled on
the lane of the trade's partner (``trading.move_lane``), so that partner must be read before the
command is queued. One read per request cost as much as the settle itself (on PostgreSQL a
thread, a pooled connection, BEGIN, SELECT and COMMIT: 0.8 of 1.6 ms of CPU per settle). Here
the requests waiting at the same moment share one read: the first starts it in a thread, those
arriving while it runs wait for the next one, which asks for all of them at once. Nothing is
remembered between reads, so a lane is always what the database says at the time.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from zeropools.store.protocol import Store


@dataclass
class _Pending:
    waiting: dict[str, list[asyncio.Future[str | None]]] = field(default_factory=dict)
    reading: bool = False


class TradePartners:
    """Per event loop (a future belongs to its loop; tests run several apps in turn)."""

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending] = (
            weakref.WeakKeyDictionary()
        )
        self._tasks: set[asyncio.Task[None]] = set()  # a running task must stay referenced

    async def partner_of(self, store: Store, trade_id: str) -> str | None:
        """The trade's partner, or None for no such trade."""
        loop = asyncio.get_running_loop()
        pending = self._loops.setdefault(loop, _Pending())
        answer: asyncio.Future[str | None] = loop.create_future()
        pending.waiting.setdefault(trade_id, []).append(answer)
        if not pending.reading:
            pending.reading = True
            task = loop.create_task(self._read_while_waiting(store, pending))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await answer

    @staticmethod
    async def _read_while_waiting(store: Store, pending: _Pending) -> None:
        asked: dict[str, list[asyncio.Future[str | None]]] = {}
        try:
            while pending.waiting:
                asked, pending.waiting = pending.waiting, {}
                try:
                    found = await asyncio.to_thread(_read, store, list(asked))
                except Exception as failure:  # each request fails as its own read would have
                    for answers in asked.values():
                        for answer in answers:
                            if not answer.done():
                                answer.set_exception(failure)
                    continue
                for trade_id, answers in asked.items():
                    for answer in answers:
                        if not answer.done():  # a request cancelled meanwhile
                            answer.set_result(found.get(trade_id))
                asked = {}
        except BaseException:  # cancelled (the loop is closing): nobody waits for ever
            for answers in (*asked.values(), *pending.waiting.values()):
                for answer in answers:
                    answer.cancel()
            pending.waiting = {}
            raise
        finally:
            pending.reading = False


def _read(store: Store, trade_ids: list[str]) -> dict[str, str]:
    return store.read(lambda tx: tx.trade_partners(trade_ids))

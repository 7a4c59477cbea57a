"""The one door for writes: apply a command in one transaction, with everything that goes with it.

``apply`` runs a command's handler in a transaction on the command's *lane* (the partner whose
balance it touches, so the store may group-commit it with that partner's other writes). A
refusal (``DomainError``) is recorded when the command keeps refusals (refused executions,
refused recalls) — in a savepoint, so the refusal record commits while the command's own writes
are undone — and then raised to the caller.

``apply_idempotent`` does the same behind an ``Idempotency-Key``: the key is claimed, the command
runs in a savepoint, and its rendered answer (or the problem document of its refusal) is stored
with the key, all in the same transaction (``services.idempotency``).

Routes, the CLI, the dashboard and workers call only these two; none of them opens a
transaction. The outbox is written here too, in the command's transaction (and savepoint): the
events its result announces (``Handler.announce``), the refusal's (``on_refusal``) and the
balance crossings of whatever it posted, which a recording view of the transaction collects —
so no use case can forget an event, and none outlives a refused or failed command.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from zeropools.domain.errors import DomainError
from zeropools.domain.events import EventDraft
from zeropools.domain.ledger import Posting
from zeropools.representations.encoding import json_bytes
from zeropools.representations.problems import domain_problem_body
from zeropools.services import events, idempotency
from zeropools.services.context import Ctx, Deployment
from zeropools.services.idempotency import StoredResponse
from zeropools.store.protocol import SelfContained, Tx

C = TypeVar("C")
R = TypeVar("R")
JSON = dict[str, Any]


def _no_lane(dep: Deployment, ctx: Ctx, command: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Handler(Generic[C, R]):
    """How one command type is applied.

    ``run`` does the work inside the transaction (it may be retried whole, so it has no effect
    outside it); ``lane`` names the partner whose balance it touches (scheduling only: locks in
    the transaction still decide correctness); ``present`` renders the result as the API object
    (stored with an idempotency key); ``announce`` names the events the result announces;
    ``on_refusal`` records a refusal in the same transaction and returns its events;
    ``own_lane``: for a partner key, ``lane`` finds the lane without reading the store.
    """

    run: Callable[[Deployment, Ctx, Tx, C], R]
    present: Callable[[Deployment, R], JSON] | None = None
    status: int = 200
    lane: Callable[[Deployment, Ctx, C], str | None] = _no_lane
    announce: Callable[[Deployment, R], list[EventDraft]] | None = None
    on_refusal: Callable[[Deployment, Ctx, Tx, C, DomainError], list[EventDraft]] | None = None
    # for a partner key, ``lane`` needs no read (its own partner's lane): a coroutine finds the
    # lane without a thread
    own_lane: bool = False
    # ``lane`` for a coroutine, where it has a way of its own (else ``lane`` runs in a thread)
    lane_async: Callable[[Deployment, Ctx, C], Awaitable[str | None]] | None = None


@functools.cache
def _table() -> dict[type, Handler[Any, Any]]:
    # imported on first use: the handlers import the service modules, which import this one
    from zeropools.services.handlers import HANDLERS

    return HANDLERS


def handler_of(command: object) -> Handler[Any, Any]:
    found = _table().get(type(command))
    assert found is not None, f"no handler for {type(command).__name__}"
    return found


def apply(dep: Deployment, ctx: Ctx, command: Any) -> Any:
    """Apply ``command`` in one transaction and return its result, or raise its refusal."""
    handler = handler_of(command)
    work = _apply_work(dep, ctx, handler, command)
    value, refusal = dep.store.write(work, handler.lane(dep, ctx, command))
    if refusal is not None:
        raise refusal
    return value


async def apply_async(dep: Deployment, ctx: Ctx, command: Any) -> Any:
    """``apply`` for a coroutine (the API's hot path): the transaction is handed to the
    store's writer and awaited, so the request holds no thread while it waits for its commit."""
    handler = handler_of(command)
    work = _apply_work(dep, ctx, handler, command)
    value, refusal = await _write_async(dep, work, await _lane_async(dep, ctx, handler, command))
    if refusal is not None:
        raise refusal
    return value


def _apply_work(
    dep: Deployment, ctx: Ctx, handler: Handler[Any, Any], command: Any
) -> Callable[[Tx], tuple[Any, DomainError | None]]:
    if handler.on_refusal is None:
        return lambda tx: (_effect(dep, ctx, tx, handler, command), None)

    def work(tx: Tx) -> tuple[Any, DomainError | None]:
        try:
            with tx.savepoint():
                return _effect(dep, ctx, tx, handler, command), None
        except DomainError as refusal:
            _refused(dep, ctx, tx, handler, command, refusal)
            return None, refusal

    return work


def apply_idempotent(
    dep: Deployment, ctx: Ctx, command: Any, *, key: str, request_print: str
) -> StoredResponse:
    """Apply ``command`` once per ``key``: a repeat replays the stored answer byte for byte."""
    handler = handler_of(command)
    work = _idempotent_work(dep, ctx, handler, command, key, request_print)
    return dep.store.write(work, handler.lane(dep, ctx, command))


async def apply_idempotent_async(
    dep: Deployment, ctx: Ctx, command: Any, *, key: str, request_print: str
) -> StoredResponse:
    """``apply_idempotent`` for a coroutine (see ``apply_async``)."""
    handler = handler_of(command)
    work = _idempotent_work(dep, ctx, handler, command, key, request_print)
    return await _write_async(dep, work, await _lane_async(dep, ctx, handler, command))


def _idempotent_work(
    dep: Deployment,
    ctx: Ctx,
    handler: Handler[Any, Any],
    command: Any,
    key: str,
    request_print: str,
) -> Callable[[Tx], StoredResponse]:
    present = handler.present
    assert present is not None, f"{type(command).__name__} has no representation to store"
    assert ctx.actor is not None
    scope = ctx.actor.partner_id or "operator"  # operator keys share one scope

    def refused(tx: Tx, refusal: DomainError) -> None:
        _refused(dep, ctx, tx, handler, command, refusal)

    def run(tx: Tx) -> StoredResponse:
        return idempotency.run_in(
            tx,
            ctx,
            scope=scope,
            key=key,
            request_print=request_print,
            work=lambda tx: _effect(dep, ctx, tx, handler, command),
            render=lambda result: (handler.status, json_bytes(present(dep, result))),
            render_error=lambda refusal: _problem(refusal, ctx.request_id),
            on_refusal=refused,
        )

    # run_in claims the key and runs the command in savepoints of its own: a refusal escaping
    # it (a reused key) has left nothing written
    return SelfContained(run)


async def _lane_async(
    dep: Deployment, ctx: Ctx, handler: Handler[Any, Any], command: Any
) -> str | None:
    """The command's lane; found in a thread only when finding it may read the store."""
    if handler.own_lane and ctx.actor is not None and ctx.actor.partner_id is not None:
        return handler.lane(dep, ctx, command)  # no read for a partner key's own lane
    if handler.lane_async is not None:
        return await handler.lane_async(dep, ctx, command)
    return await asyncio.to_thread(handler.lane, dep, ctx, command)


async def _write_async(dep: Deployment, work: Callable[[Tx], R], lane: str | None) -> R:
    writer = getattr(dep.store, "write_async", None)
    if writer is None:  # a plain store (tests, tools): its blocking write, in a thread
        return await asyncio.to_thread(dep.store.write, work, lane)
    return cast(R, await writer(work, lane))


def _problem(refusal: DomainError, request_id: str) -> tuple[int, bytes]:
    status, body = domain_problem_body(refusal, request_id)
    return status, json_bytes(body)


def _effect(dep: Deployment, ctx: Ctx, tx: Tx, handler: Handler[Any, Any], command: Any) -> Any:
    """The command's work and its events, in the caller's transaction."""
    recording = _Recording(tx)
    result = handler.run(dep, ctx, recording.as_tx(), command)
    drafts = handler.announce(dep, result) if handler.announce is not None else []
    if recording.postings:
        drafts += events.balance_events(dep, ctx, tx, recording.postings)
    if drafts:
        events.publish(ctx, tx, drafts, recording.postings)
    return result


def _refused(
    dep: Deployment,
    ctx: Ctx,
    tx: Tx,
    handler: Handler[Any, Any],
    command: Any,
    refusal: DomainError,
) -> None:
    if handler.on_refusal is not None:
        drafts = handler.on_refusal(dep, ctx, tx, command, refusal)
        if drafts:
            events.publish(ctx, tx, drafts)


class _Recording:
    """The transaction as a command sees it, noting every posting it appends (for the balance
    events); everything else goes straight through."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self.postings: list[Posting] = []

    def append(self, posting: Posting) -> None:
        self._tx.append(posting)
        self.postings.append(posting)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def as_tx(self) -> Tx:
        return cast(Tx, self)

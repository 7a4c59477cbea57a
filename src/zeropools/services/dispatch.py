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
transaction. The events outbox will be appended here too, so no use case can forget one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from zeropools.domain.errors import DomainError
from zeropools.representations.encoding import json_bytes
from zeropools.representations.problems import domain_problem_body
from zeropools.services import idempotency
from zeropools.services.context import Ctx, Deployment
from zeropools.services.idempotency import StoredResponse
from zeropools.store.protocol import Tx

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
    (stored with an idempotency key, and the data of events); ``on_refusal`` records a refusal
    in the same transaction.
    """

    run: Callable[[Deployment, Ctx, Tx, C], R]
    present: Callable[[Deployment, R], JSON] | None = None
    status: int = 200
    lane: Callable[[Deployment, Ctx, C], str | None] = _no_lane
    on_refusal: Callable[[Ctx, Tx, C, DomainError], None] | None = None


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
    lane = handler.lane(dep, ctx, command)
    on_refusal = handler.on_refusal
    if on_refusal is None:
        return dep.store.write(lambda tx: handler.run(dep, ctx, tx, command), lane)

    def work(tx: Tx) -> tuple[Any, DomainError | None]:
        try:
            with tx.savepoint():
                return handler.run(dep, ctx, tx, command), None
        except DomainError as refusal:
            on_refusal(ctx, tx, command, refusal)
            return None, refusal

    value, refusal = dep.store.write(work, lane)
    if refusal is not None:
        raise refusal
    return value


def apply_idempotent(
    dep: Deployment, ctx: Ctx, command: Any, *, key: str, request_print: str
) -> StoredResponse:
    """Apply ``command`` once per ``key``: a repeat replays the stored answer byte for byte."""
    handler = handler_of(command)
    present = handler.present
    assert present is not None, f"{type(command).__name__} has no representation to store"
    assert ctx.actor is not None
    on_refusal = handler.on_refusal
    scope = ctx.actor.partner_id or "operator"  # operator keys share one scope

    def refused(tx: Tx, refusal: DomainError) -> None:
        if on_refusal is not None:
            on_refusal(ctx, tx, command, refusal)

    def work(tx: Tx) -> StoredResponse:
        return idempotency.run_in(
            tx,
            ctx,
            scope=scope,
            key=key,
            request_print=request_print,
            work=lambda tx: handler.run(dep, ctx, tx, command),
            render=lambda result: (handler.status, json_bytes(present(dep, result))),
            render_error=lambda refusal: _problem(refusal, ctx.request_id),
            on_refusal=refused,
        )

    return dep.store.write(work, handler.lane(dep, ctx, command))


def _problem(refusal: DomainError, request_id: str) -> tuple[int, bytes]:
    status, body = domain_problem_body(refusal, request_id)
    return status, json_bytes(body)

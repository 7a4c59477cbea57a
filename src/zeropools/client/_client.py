"""``Client``: the partner API as typed Python calls (see docs/client.md)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from zeropools.client import _retry
from zeropools.client._http import Call, Session, default_sleep
from zeropools.client.errors import UnexpectedResponse
from zeropools.client.models import (
    Balance,
    Capabilities,
    Event,
    LedgerEntry,
    ListPage,
    Pool,
    Quote,
    Trade,
    as_object,
)

TIMEOUT_S = 30.0  # per attempt: connect, read, write and pool wait each
PAGE_SIZE = 100  # items per page when iterating a list (the API's default)
PAGE_SIZE_MAX = 1000  # the API's largest `limit`


def money_text(value: Decimal | str, name: str) -> str:
    """An amount as the decimal string the API takes.

    Decimal is written in plain notation (never ``1E+2``); a string is sent as given (the
    server says precisely what is wrong with it). A float is refused: it cannot hold most
    cent amounts exactly, and the API never lets one pass.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name}: {value} is not an amount")
        return format(value, "f")
    if isinstance(value, str):
        return value
    raise TypeError(
        f"{name}: amounts are Decimal or str, not {type(value).__name__} "
        "(floats cannot hold most cent amounts exactly)"
    )


def time_text(value: datetime | str, name: str) -> str:
    """A time filter as RFC 3339 UTC; an aware datetime or a string sent as given."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError(f"{name}: a naive datetime is ambiguous; give it a tzinfo")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _segment(value: str) -> str:
    """An id as one path segment: ``/``, ``?`` and the like are escaped, never interpreted."""
    return quote(value, safe="")


def _page_size(value: int) -> int:
    if not 1 <= value <= PAGE_SIZE_MAX:
        raise ValueError(f"page_size must be 1..{PAGE_SIZE_MAX}, got {value}")
    return value


def new_idempotency_key() -> str:
    """A fresh key for one money-moving request (a random UUID)."""
    return str(uuid.uuid4())


class Client:
    """The zeropools partner API over HTTP, synchronous.

    ``Client(base_url, api_key)`` talks to ``base_url`` (e.g. ``https://api.example`` or
    ``http://127.0.0.1:8000``) as the key's partner. Use it as a context manager, or call
    ``close()``. Every call retries as described in docs/client.md ("Retries"): ``max_retries``
    bounds it, ``sleep`` (default ``time.sleep``) and ``rng`` (the jitter's source) are there
    for tests, ``transport`` takes any ``httpx`` transport (``httpx.MockTransport`` in tests).

    Money comes back as ``Decimal`` and goes out as text (pass ``Decimal`` or ``str``); times
    come back as aware ``datetime``. Refusals raise ``ApiError`` (a subclass per code, e.g.
    ``InsufficientBalance``).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = TIMEOUT_S,
        max_retries: int = _retry.RETRIES_MAX,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = default_sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._session = Session(
            base_url,
            api_key,
            timeout_s=timeout,
            max_retries=max_retries,
            transport=transport,
            sleep=sleep,
            rng=rng or random.Random(),
        )

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _object(self, call: Call) -> Mapping[str, Any]:
        return as_object(self._session.request(call), f"{call.method} {call.path}")

    def _page(self, path: str, params: Mapping[str, str]) -> ListPage:
        return ListPage.from_json(self._object(Call("GET", path, params=params)))

    # -- discovery --------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """``GET /v1/capabilities``: what this partner may do now (show or hide UI actions)."""
        return Capabilities.from_json(self._object(Call("GET", "/v1/capabilities")))

    def pools(self) -> list[Pool]:
        """``GET /v1/pools``: the pools, enabled or not, with their amount limits."""
        page = self._page("/v1/pools", {})
        return [Pool.from_json(item) for item in page.data]

    # -- trading ----------------------------------------------------------------------------

    def create_quote(
        self,
        pool_id: str,
        source_amount: Decimal | str,
        partner_order_id: str | None = None,
    ) -> Quote:
        """``POST /v1/quotes``: a firm quote (about 30 s). No money moves.

        Has no Idempotency-Key, so it is retried only when the connection could not be made;
        a quote lost to a broken connection is harmless (it expires unused).
        """
        body: dict[str, Any] = {
            "pool_id": pool_id,
            "source_amount": money_text(source_amount, "source_amount"),
        }
        if partner_order_id is not None:
            body["partner_order_id"] = partner_order_id
        return Quote.from_json(self._object(Call("POST", "/v1/quotes", body=body)))

    def quote(self, quote_id: str) -> Quote:
        """``GET /v1/quotes/{id}``."""
        return Quote.from_json(self._object(Call("GET", f"/v1/quotes/{_segment(quote_id)}")))

    def execute(
        self,
        quote_id: str,
        partner_order_id: str,
        idempotency_key: str | None = None,
        *,
        destination: str | None = None,
    ) -> Trade:
        """``POST /v1/trades``: execute a quote; debits (or reserves) the balance.

        ``idempotency_key`` defaults to a fresh UUID; every retry of this call sends the same
        one, so the trade happens at most once. To survive a crash of your own process, pass a
        key you store with the order (and call again with it): the server answers a repeat
        with the first response, a refusal included. Raises ``InsufficientBalance`` when
        ``available`` does not cover the quote.
        """
        body: dict[str, Any] = {"quote_id": quote_id, "partner_order_id": partner_order_id}
        if destination is not None:
            body["destination"] = destination
        key = new_idempotency_key() if idempotency_key is None else idempotency_key
        call = Call("POST", "/v1/trades", body=body, idempotency_key=key)
        return Trade.from_json(self._object(call))

    def trade(self, trade_id: str) -> Trade:
        """``GET /v1/trades/{id}``."""
        return Trade.from_json(self._object(Call("GET", f"/v1/trades/{_segment(trade_id)}")))

    def release(
        self,
        trade_id: str,
        idempotency_key: str | None = None,
        *,
        reason: str | None = None,
    ) -> Trade:
        """``POST /v1/trades/{id}/release``: cancel a trade before settlement; the money comes
        back to ``available``. The Idempotency-Key follows the same rule as ``execute``."""
        body: dict[str, Any] = {} if reason is None else {"reason": reason}
        key = new_idempotency_key() if idempotency_key is None else idempotency_key
        path = f"/v1/trades/{_segment(trade_id)}/release"
        return Trade.from_json(self._object(Call("POST", path, body=body, idempotency_key=key)))

    # -- balances and ledger ----------------------------------------------------------------

    def balance(self, currency: str) -> Balance:
        """``GET /v1/balances/{currency}``."""
        path = f"/v1/balances/{_segment(currency)}"
        return Balance.from_json(self._object(Call("GET", path)))

    def balances(self) -> list[Balance]:
        """``GET /v1/balances``: one balance per currency of the partner."""
        page = self._page("/v1/balances", {})
        return [Balance.from_json(item) for item in page.data]

    def ledger_entries(
        self,
        *,
        currency: str | None = None,
        type: str | None = None,
        trade_id: str | None = None,
        created_gte: datetime | str | None = None,
        created_lt: datetime | str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[LedgerEntry]:
        """``GET /v1/ledger-entries``, oldest first, across every page.

        Lazy: a page is fetched when the previous one is used up (``starting_after`` = the last
        entry's id), so the first request is sent on the first ``next()``, and errors surface
        during iteration.
        """
        params: dict[str, str] = {"limit": str(_page_size(page_size))}
        for name, value in (("currency", currency), ("type", type), ("trade_id", trade_id)):
            if value is not None:
                params[name] = value
        if created_gte is not None:
            params["created_gte"] = time_text(created_gte, "created_gte")
        if created_lt is not None:
            params["created_lt"] = time_text(created_lt, "created_lt")
        return self._iterate_entries(params)

    def _iterate_entries(self, params: dict[str, str]) -> Iterator[LedgerEntry]:
        path = "/v1/ledger-entries"
        while True:
            page = self._page(path, params)
            entries = [LedgerEntry.from_json(item) for item in page.data]
            yield from entries
            if not page.has_more:
                return
            if not entries:
                raise UnexpectedResponse(f"GET {path}: has_more with an empty page")
            params = {**params, "starting_after": entries[-1].id}

    def events(
        self,
        after_sequence: int = 0,
        type: str | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[Event]:
        """``GET /v1/events``, in ``sequence`` order from ``after_sequence`` + 1, across every
        page (the next page starts after the last event's ``sequence``).

        Lazy like ``ledger_entries``. Store the last ``sequence`` you handled and pass it as
        ``after_sequence`` next time to resume where you stopped.
        """
        if after_sequence < 0:
            raise ValueError("after_sequence must be >= 0")
        params: dict[str, str] = {"limit": str(_page_size(page_size))}
        if type is not None:
            params["type"] = type
        return self._iterate_events(after_sequence, params)

    def _iterate_events(self, after_sequence: int, params: dict[str, str]) -> Iterator[Event]:
        path = "/v1/events"
        while True:
            page = self._page(path, {**params, "after_sequence": str(after_sequence)})
            events = [Event.from_json(item) for item in page.data]
            yield from events
            if not page.has_more:
                return
            if not events or events[-1].sequence <= after_sequence:
                # following it would ask for the same page forever
                raise UnexpectedResponse(f"GET {path}: has_more but no progress in sequence")
            after_sequence = events[-1].sequence

"""The API's objects as frozen dataclasses: money as ``Decimal``, times as aware ``datetime``.

Why dataclasses (not TypedDicts): a field the server did not send, or sent with the wrong type,
fails here, at the boundary, with :class:`UnexpectedResponse` naming the field, instead of as a
``KeyError`` deep in the caller's code; and ``quote.source_amount`` is a ``Decimal`` that mypy
knows about. Fields API.md names are required; fields the server adds beyond API.md are
optional (None or empty when absent). Every object keeps the JSON it came from in ``raw`` (not
in ``repr``, not compared), so a field this version does not model yet is still reachable.

Each class has ``from_json(mapping)`` (one reader per field type, ``_Model``), public so that a
webhook's event (from :func:`zeropools.client.verify_webhook`) can be turned into an
:class:`Event` too.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from zeropools.client.errors import UnexpectedResponse

JSON = Mapping[str, Any]
_MONEY = re.compile(r"-?[0-9]+(\.[0-9]+)?")


# -- field readers: each checks the type it promises --------------------------------------


def _get(obj: JSON, name: str) -> Any:
    if name not in obj:
        kind = obj.get("object", "object")
        raise UnexpectedResponse(f"{kind}: field {name!r} is missing")
    return obj[name]


def _fail(obj: JSON, name: str, expected: str, value: Any) -> UnexpectedResponse:
    kind = obj.get("object", "object")
    return UnexpectedResponse(f"{kind}.{name}: expected {expected}, got {value!r}")


def _str(obj: JSON, name: str) -> str:
    value = _get(obj, name)
    if not isinstance(value, str):
        raise _fail(obj, name, "a string", value)
    return value


def _opt_str(obj: JSON, name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise _fail(obj, name, "a string or null", value)
    return value


def _int(obj: JSON, name: str) -> int:
    value = _get(obj, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(obj, name, "an integer", value)
    return value


def _opt_int(obj: JSON, name: str) -> int | None:
    if obj.get(name) is None:
        return None
    return _int(obj, name)


def _bool(obj: JSON, name: str) -> bool:
    value = _get(obj, name)
    if not isinstance(value, bool):
        raise _fail(obj, name, "a boolean", value)
    return value


def _decimal(obj: JSON, name: str, value: Any) -> Decimal:
    """A decimal string as a Decimal: digits, an optional sign and fraction, nothing else.

    ``Decimal()`` alone would also take ``"NaN"``, ``"1e3"`` and spaces; the API sends none.
    """
    if not isinstance(value, str) or _MONEY.fullmatch(value) is None:
        raise _fail(obj, name, "a decimal string", value)
    return Decimal(value)


def _money(obj: JSON, name: str) -> Decimal:
    return _decimal(obj, name, _get(obj, name))


def _opt_money(obj: JSON, name: str) -> Decimal | None:
    value = obj.get(name)
    return None if value is None else _decimal(obj, name, value)


def _time_of(obj: JSON, name: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise _fail(obj, name, "an RFC 3339 time", value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _fail(obj, name, "an RFC 3339 time", value) from exc
    if moment.tzinfo is None:
        raise _fail(obj, name, "a time with a UTC offset", value)
    return moment


def _time(obj: JSON, name: str) -> datetime:
    return _time_of(obj, name, _get(obj, name))


def _opt_time(obj: JSON, name: str) -> datetime | None:
    value = obj.get(name)
    return None if value is None else _time_of(obj, name, value)


def _strs(obj: JSON, name: str, *, required: bool = True) -> tuple[str, ...]:
    value = _get(obj, name) if required else (obj.get(name) or [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(obj, name, "a list of strings", value)
    return tuple(value)


def _obj(obj: JSON, name: str) -> JSON:
    value = _get(obj, name)
    if not isinstance(value, dict):
        raise _fail(obj, name, "an object", value)
    return value


def _objs(obj: JSON, name: str) -> list[JSON]:
    value = _get(obj, name)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail(obj, name, "a list of objects", value)
    return value


def as_object(value: Any, what: str) -> JSON:
    """``value`` if it is a JSON object, else UnexpectedResponse naming ``what``."""
    if not isinstance(value, dict):
        raise UnexpectedResponse(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def _flags(obj: JSON, name: str) -> Mapping[str, bool]:
    value = _obj(obj, name)
    if not all(isinstance(v, bool) for v in value.values()):
        raise _fail(obj, name, "an object of booleans", value)
    return dict(value)


# What each field's type reads with; a required tuple of strings must be present, one with a
# default may be absent. Nested models (``tuple[Pool, ...]``) are read by their own class.
_READERS: dict[Any, Callable[[JSON, str], Any]] = {
    str: _str,
    str | None: _opt_str,
    int: _int,
    int | None: _opt_int,
    bool: _bool,
    Decimal: _money,
    Decimal | None: _opt_money,
    datetime: _time,
    datetime | None: _opt_time,
    JSON: _obj,
    Sequence[JSON]: _objs,
    Mapping[str, bool]: _flags,
}


class _Model:
    """``from_json`` for a frozen dataclass of the API's objects, read field by field by type.

    One reader per field type instead of a hand-written ``from_json`` per class: the class's
    fields are the one list of what an object has, so parsing cannot drift from the model.
    """

    @classmethod
    def from_json(cls, obj: JSON) -> Self:
        values = {f.name: read(obj) for f, read in _field_readers(typing.cast(type, cls))}
        return cls(**values)


@functools.cache
def _field_readers(cls: type) -> tuple[tuple[Field[Any], Callable[[JSON], Any]], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f, _reader(f, hints[f.name])) for f in fields(cls))


def _reader(f: Field[Any], hint: Any) -> Callable[[JSON], Any]:
    name = f.name
    if name == "raw":
        return lambda obj: obj  # the JSON the object came from
    optional = f.default is not MISSING or f.default_factory is not MISSING
    if hint == tuple[str, ...]:
        return lambda obj: _strs(obj, name, required=not optional)
    if typing.get_origin(hint) is tuple and issubclass(typing.get_args(hint)[0], _Model):
        nested = typing.get_args(hint)[0]
        return lambda obj: tuple(nested.from_json(item) for item in _objs(obj, name))
    read = _READERS[hint]
    return lambda obj: read(obj, name)


@dataclass(frozen=True)
class ListPage(_Model):
    """One page of a list: ``{"object": "list", "data": [...], "has_more": bool}``."""

    data: Sequence[JSON]
    has_more: bool


@dataclass(frozen=True)
class Pool(_Model):
    """A pool such as ``EUR-USDT``: what can be bought with which currency, and how much."""

    id: str
    source_currency: str
    target_asset: str
    min_amount: Decimal
    max_amount: Decimal
    enabled: bool
    fee_bps: int | None = None  # server addition
    raw: JSON = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Capabilities(_Model):
    """What this partner may do now; ``actions["execute"]`` is False until a currency is funded."""

    partner_id: str
    mode: str
    balance_model: str
    currencies: tuple[str, ...]
    funding_methods: tuple[str, ...]
    pools: tuple[Pool, ...]
    actions: Mapping[str, bool]
    funded_currencies: tuple[str, ...] = ()  # server addition
    raw: JSON = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Quote(_Model):
    """A firm quote: ``target_amount`` of the pool's asset for ``source_amount``, until
    ``expires_at``. No money moves until it is executed."""

    id: str
    pool_id: str
    source_amount: Decimal
    target_amount: Decimal
    rate: Decimal
    fee: Decimal
    expires_at: datetime
    status: str
    source_currency: str | None = None  # server additions from here on
    target_asset: str | None = None
    partner_order_id: str | None = None
    created_at: datetime | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Trade(_Model):
    """An executed quote. ``status``: ``reserved`` or ``debited`` while open; ``settled``,
    ``released``, ``failed`` or ``returned`` at the end."""

    id: str
    quote_id: str
    pool_id: str
    partner_order_id: str
    status: str
    source_amount: Decimal
    currency: str
    target_amount: Decimal
    asset: str
    ledger_entry_ids: tuple[str, ...]
    created_at: datetime
    updated_at: datetime | None = None  # server additions from here on
    delivered_amount: Decimal | None = None
    tx_hash: str | None = None
    failure_reason: str | None = None
    destination: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Balance(_Model):
    """A partner's balance in one currency. ``available`` is what new executions may use."""

    currency: str
    available: Decimal
    reserved: Decimal
    pending: Decimal
    total: Decimal
    low_balance_threshold: Decimal | None
    low: bool
    as_of: datetime
    raw: JSON = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class LedgerEntry(_Model):
    """One immutable ledger entry: ``amount`` is signed; ``sequence`` is gap-free from 1 per
    partner and ``hash`` chains the entry to the one before."""

    id: str
    type: str
    currency: str
    amount: Decimal
    available_after: Decimal
    reserved_after: Decimal
    trade_id: str | None
    quote_id: str | None
    payin_id: str | None
    related_entry_id: str | None
    funding_reference: str | None
    partner_order_id: str | None
    request_id: str
    created_at: datetime
    sequence: int
    hash: str
    prev_hash: str | None = None  # server additions from here on
    reason: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Event(_Model):
    """Something that happened to the partner's money or trades, in ``sequence`` order.

    ``data["object"]`` is the object (trade, pay-in, ledger entry, ...) as ``GET`` returned it
    at that moment, as parsed JSON: money stays a string there (numbers would be Decimal);
    turn it into a model with e.g. ``Trade.from_json(event.object)``.
    """

    id: str
    type: str
    sequence: int
    created_at: datetime
    request_id: str | None
    data: JSON
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def object(self) -> JSON:
        """``data["object"]``: the object the event is about."""
        return _obj(self.data, "object")

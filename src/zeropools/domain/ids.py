"""Prefixed, time-ordered ids (``ple_01J...``).

A ULID body (48-bit millisecond time + 80 random bits, Crockford base32) keeps ids sortable by
creation time, which is what ``starting_after`` pagination over newest-first lists needs. It is
a few lines (a table lookup per two digits), so we write it rather than take a dependency.
"""

from __future__ import annotations

import secrets
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PARTNER = "partner_"
API_KEY = "zpk_"
PAYIN = "pin_"
LEDGER_ENTRY = "ple_"
EVENT = "evt_"
WEBHOOK_ENDPOINT = "we_"
WEBHOOK_DELIVERY = "wd_"  # one attempt in the delivery log
WEBHOOK_REDELIVERY = "wr_"
REQUEST = "req_"


# Crockford base32 two digits (10 bits) at a time: several ids per request, and on 3.11
# ``base64.b32encode`` is a Python loop (~2.2 us an id against ~0.85 us for these lookups)
_PAIRS = [high + low for high in _CROCKFORD for low in _CROCKFORD]
_TEN_BITS = 1023


def _ulid(now_ms: int, random_bits: int) -> str:
    value = (now_ms << 80) | random_bits  # 128 bits, written as 26 base32 digits (130 bits)
    p = _PAIRS
    return (
        p[value >> 120]
        + p[(value >> 110) & _TEN_BITS]
        + p[(value >> 100) & _TEN_BITS]
        + p[(value >> 90) & _TEN_BITS]
        + p[(value >> 80) & _TEN_BITS]
        + p[(value >> 70) & _TEN_BITS]
        + p[(value >> 60) & _TEN_BITS]
        + p[(value >> 50) & _TEN_BITS]
        + p[(value >> 40) & _TEN_BITS]
        + p[(value >> 30) & _TEN_BITS]
        + p[(value >> 20) & _TEN_BITS]
        + p[(value >> 10) & _TEN_BITS]
        + p[value & _TEN_BITS]
    )


_last = [0, 0]  # (ms, random bits) of the previous id: monotonic within this process
_last_lock = threading.Lock()


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """A new id with ``prefix``; ``now_ms`` only for tests that need a fixed time.

    Within one millisecond the random part counts up (ULID's monotonic mode), so ids made by one
    process sort in creation order, which newest-first pagination relies on.
    """
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _last_lock:
        if ms <= _last[0] and now_ms is None:
            ms, bits = _last[0], _last[1] + 1
        else:
            bits = secrets.randbits(79)  # a spare top bit leaves room to count up
        _last[0], _last[1] = ms, bits
    return prefix + _ulid(ms, bits)


def moded_prefix(kind: str, mode: str) -> str:
    """Quote and trade ids carry the deployment mode: ``pq_test_``, ``pt_live_``."""
    assert mode in ("test", "live"), mode
    return f"{kind}_{mode}_"

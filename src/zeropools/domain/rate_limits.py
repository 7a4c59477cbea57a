"""Abuse limits as token buckets: per API key, per client address, and per address for failed
authentications. Pure: the caller passes the (monotonic) time, so tests need no clock.

The buckets live in one process's memory: with N ``serve`` processes a client may get up to N
times a limit. That is the intent (a cheap first line against floods and key guessing); a hard
global quota belongs in the reverse proxy or a shared store.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    """``per_s`` tokens a second refill a bucket of ``burst``; ``per_s`` 0 turns it off."""

    per_s: float = 0.0
    burst: float = 0.0

    @property
    def on(self) -> bool:
        return self.per_s > 0 and self.burst >= 1


OFF = Rate()


@dataclass(frozen=True)
class RateLimits:
    """Every limit off unless configured: apps built in tests limit nothing unless told to."""

    per_key: Rate = OFF
    per_address: Rate = OFF
    auth_failures_per_address: Rate = OFF

    @property
    def any_on(self) -> bool:
        return self.per_key.on or self.per_address.on or self.auth_failures_per_address.on


# What `zeropools serve` applies unless ZEROPOOLS_RATE_LIMIT_* say otherwise: generous for any
# integration (100 requests/s per key, bursts of 200), tight for key guessing (a burst of 20
# failed authentications per address, then one every 2 s).
SERVE_DEFAULTS = RateLimits(
    per_key=Rate(100, 200),
    per_address=Rate(300, 600),
    auth_failures_per_address=Rate(0.5, 20),
)


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class Buckets:
    """Token buckets by name (a key's hash, an address), at most ``capacity`` of them: the
    least recently used is dropped first (it would be nearly full again anyway), so a flood of
    distinct names cannot grow memory without bound."""

    rate: Rate
    capacity: int = 100_000
    _buckets: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)

    def _refilled(self, name: str, now: float) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = _Bucket(self.rate.burst, now)
            self._buckets[name] = bucket
            if len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(name)
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(self.rate.burst, bucket.tokens + elapsed * self.rate.per_s)
            bucket.at = now
        return bucket

    def take(self, name: str, now: float) -> int | None:
        """Take one token: None if there was one, else the whole seconds until there is."""
        bucket = self._refilled(name, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return self._wait_s(bucket)

    def empty(self, name: str, now: float) -> int | None:
        """Without taking: None while a token is left, else the seconds until one is."""
        if name not in self._buckets:
            return None
        bucket = self._refilled(name, now)
        return None if bucket.tokens >= 1 else self._wait_s(bucket)

    def charge(self, name: str, now: float) -> None:
        """Take a token if there is one (a failure counted after the fact)."""
        bucket = self._refilled(name, now)
        bucket.tokens = max(0.0, bucket.tokens - 1)

    def _wait_s(self, bucket: _Bucket) -> int:
        return max(1, math.ceil((1 - bucket.tokens) / self.rate.per_s))

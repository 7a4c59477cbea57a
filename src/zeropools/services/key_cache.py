"""The process's memory of authenticated API keys, so a request need not read its key.

Reading the key was three statements on every request. An entry is keyed by the stored hash of
the secret (the keyed hash, ``Deployment.key_hasher``: the cache never holds a secret) and
trusted for ``API_KEY_CACHE_TTL_S``:

- a revocation made through this process (``revoke_api_key``) empties the cache after its
  commit, and bumps a generation so that a read which started before the commit (and so may
  have seen the key still valid) cannot put it back;
- a revocation made by another process is seen when the entry expires, within the TTL.

Only valid keys are remembered: an unknown or revoked secret is looked up every time, so the
cache cannot be filled by guesses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from zeropools.domain import limits
from zeropools.domain.partners import ApiKey


@dataclass
class CachedKey:
    key: ApiKey
    fetched_at: float  # the clock's reading when the key was read from the store
    last_used_at: str | None  # as last written (or being written) by this process


class ApiKeyCache:
    def __init__(
        self,
        ttl_s: float = limits.API_KEY_CACHE_TTL_S,
        size_max: int = limits.API_KEY_CACHE_SIZE_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self._size_max = size_max
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, CachedKey] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read before looking a key up in the store; ``put`` it back with the key."""
        return self._generation

    def get(self, key_hash: str) -> CachedKey | None:
        entry = self._entries.get(key_hash)
        if entry is None or self._clock() - entry.fetched_at >= self.ttl_s:
            return None
        return entry

    def put(self, key_hash: str, key: ApiKey, generation: int, fetched_at: float) -> CachedKey:
        """Remember ``key`` unless a revocation happened since ``generation`` was read (then
        the entry is only returned, for this one request)."""
        entry = CachedKey(key, fetched_at, key.last_used_at)
        with self._lock:
            if generation == self._generation:
                if len(self._entries) >= self._size_max:
                    self._entries.clear()  # rare (that many live keys): simply start over
                self._entries[key_hash] = entry
        return entry

    def now(self) -> float:
        return self._clock()

    def forget_all(self) -> None:
        """After a revocation commits: every key is read again on its next use."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

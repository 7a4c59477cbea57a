"""The API-key cache: a request is authenticated without a read, and a revocation still wins.

Goal: a key once authenticated is answered from the process's cache (``authenticate_cached``
needs no I/O); a revocation made through this process is seen by the very next request; one
made by another process (another store with its own cache on the same database) is seen once
the cache entry is ``API_KEY_CACHE_TTL_S`` old, not later; a lookup that started before a
revocation cannot put the revoked key back; unknown keys are never remembered.

Method: real stores (SQLite and PostgreSQL); the second "process" is a second store and
deployment on the same database whose cache runs on a hand-moved clock, so the TTL is crossed
exactly, without sleeping. Over HTTP, the operator's ``DELETE /v1/api-keys/{id}`` and the
partner's next request.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from support import app_client, bearer, ctx_for, issue_operator_key, onboard, open_test_store
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.domain.errors import Unauthenticated
from zeropools.services import partners as partner_service
from zeropools.services.auth import authenticate, authenticate_cached
from zeropools.services.context import Deployment
from zeropools.services.key_cache import ApiKeyCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _server_key(dep: Deployment) -> tuple[str, str, str]:
    new = onboard(dep)
    issued = next(k for k in new.keys if k.key.role == "partner_server")
    return new.partner.id, issued.key.id, f"Bearer {issued.secret}"


def test_a_key_is_cached_and_a_revocation_here_is_seen_by_the_next_request(
    dep: Deployment,
) -> None:
    partner_id, key_id, header = _server_key(dep)
    assert authenticate_cached(dep, header) is None  # never seen: the store must be asked
    assert authenticate(dep, header).partner_id == partner_id
    cached = authenticate_cached(dep, header)
    assert cached is not None and (cached.key_id, cached.partner_id) == (key_id, partner_id)

    partner_service.revoke_api_key(dep, ctx_for(), key_id)

    assert authenticate_cached(dep, header) is None
    with pytest.raises(Unauthenticated):
        authenticate(dep, header)


def test_a_revocation_by_another_process_is_seen_when_the_entry_expires(
    dep: Deployment, db_url: str
) -> None:
    partner_id, key_id, header = _server_key(dep)
    clock = Clock()
    other_store = open_test_store(db_url)
    try:
        other = replace(
            deployment(Settings(db_url=db_url), other_store), key_cache=ApiKeyCache(clock=clock)
        )
        assert authenticate(other, header).partner_id == partner_id  # cached over there
        partner_service.revoke_api_key(dep, ctx_for(), key_id)  # revoked over here

        with pytest.raises(Unauthenticated):
            authenticate(dep, header)  # this process: at once
        clock.now += other.key_cache.ttl_s - 0.001
        # the other process still trusts its entry (the documented window) ...
        assert authenticate_cached(other, header) is not None
        clock.now += 0.001
        # ... and not a moment longer than the TTL
        assert authenticate_cached(other, header) is None
        with pytest.raises(Unauthenticated):
            authenticate(other, header)
    finally:
        other_store.close()


def test_a_lookup_begun_before_a_revocation_cannot_put_the_key_back(dep: Deployment) -> None:
    _, key_id, header = _server_key(dep)
    cache = dep.key_cache
    key_hash = dep.key_hasher.digest(header.removeprefix("Bearer "))
    generation = cache.generation  # a request reads this, then the key (still valid) ...
    valid = dep.store.read(lambda tx: tx.api_key_by_hash(key_hash))
    assert valid is not None and valid.revoked_at is None
    partner_service.revoke_api_key(dep, ctx_for(), key_id)  # ... a revocation commits ...
    cache.put(key_hash, valid, generation, cache.now())  # ... and the request puts it back

    assert cache.get(key_hash) is None
    with pytest.raises(Unauthenticated):
        authenticate(dep, header)


def test_unknown_keys_are_not_remembered(dep: Deployment) -> None:
    guess = "Bearer zpk_test_" + "x" * 40
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            authenticate(dep, guess)
    assert dep.key_cache.get(dep.key_hasher.digest(guess.removeprefix("Bearer "))) is None


def test_over_http_a_revoked_key_is_refused_by_the_next_request(dep: Deployment) -> None:
    _, key_id, header = _server_key(dep)
    operator = bearer(issue_operator_key(dep).secret)
    partner = {"Authorization": header}
    with app_client(dep) as client:
        assert client.get("/v1/balances", headers=partner).status_code == 200
        assert client.get("/v1/balances", headers=partner).status_code == 200  # from the cache
        assert client.delete(f"/v1/api-keys/{key_id}", headers=operator).status_code == 200
        refused = client.get("/v1/balances", headers=partner)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"

"""Finding an API key by its secret, under the keyed hash or, once, the legacy one."""

from __future__ import annotations

from zeropools.domain.keys import HMAC_SCHEME, LEGACY_SCHEME, legacy_digest
from zeropools.domain.partners import ApiKey
from zeropools.services.context import Deployment


def find_key(dep: Deployment, secret: str) -> ApiKey | None:
    """The key whose secret is ``secret`` (revoked ones included), or None.

    Keys stored before the pepper hold ``sha256(secret)``: such a row is found by that hash and
    rewritten to the keyed hash right away, since only now is the secret at hand. A wrong key
    costs two indexed reads; a legacy key one extra write, once in its life.
    """
    keyed = dep.key_hasher.digest(secret)
    key = dep.store.read(lambda tx: tx.api_key_by_hash(keyed))
    if key is not None:
        return key if key.hash_scheme == HMAC_SCHEME else None
    legacy = legacy_digest(secret)
    old = dep.store.read(lambda tx: tx.api_key_by_hash(legacy))
    if old is None or old.hash_scheme != LEGACY_SCHEME:
        return None
    dep.store.write(lambda tx: tx.upgrade_api_key_hash(old.id, legacy, keyed, HMAC_SCHEME))
    return dep.store.read(lambda tx: tx.get_api_key(old.id))

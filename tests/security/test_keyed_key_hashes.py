"""API key secrets at rest: HMAC-SHA256 under a server-side pepper (issue 14, finding 3).

Goal: a stolen ``api_keys`` table alone cannot be checked against guessed secrets (the stored
hash is not sha256 of the secret, and depends on the pepper); keys stored under the old plain
sha256 keep working and are rewritten to the keyed hash on first use; a deployment started
with another pepper than the keys were hashed with, or a live one without any, refuses to start.
Method: the services and bootstrap over a real database (both stores); the command line for
live mode on SQLite files.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

import pytest
from security_support import run

from support import onboard, sqlite_url
from zeropools.bootstrap import SecretConfigError, deployment
from zeropools.config import Settings
from zeropools.domain.errors import Unauthenticated
from zeropools.domain.keys import HMAC_SCHEME, LEGACY_SCHEME
from zeropools.domain.partners import OPERATOR, ApiKey, hash_secret, new_api_key_secret
from zeropools.services.auth import authenticate
from zeropools.services.context import Deployment
from zeropools.store.protocol import Store


def test_stored_hashes_are_keyed_by_the_pepper(dep: Deployment) -> None:
    new = onboard(dep)
    pepper = dep.key_hasher.pepper
    for issued in new.keys:
        stored = dep.store.read(lambda tx, k=issued.key: tx.get_api_key(k.id))
        assert stored is not None and stored.hash_scheme == HMAC_SCHEME
        expected = hmac.new(pepper, issued.secret.encode(), hashlib.sha256).hexdigest()
        assert stored.secret_hash == expected
        # what a thief with the table and a guess (here: the right one) computes, in vain
        assert stored.secret_hash != hashlib.sha256(issued.secret.encode()).hexdigest()


def test_a_legacy_sha256_key_works_once_verified_and_is_upgraded(dep: Deployment) -> None:
    secret = new_api_key_secret("test")
    legacy = ApiKey(
        id="zpk_01LEGACYKEY0000000000000000",
        partner_id=None,
        role=OPERATOR,
        mode="test",
        secret_hash=hash_secret(secret),
        last4=secret[-4:],
        created_at="2026-11-01T00:00:00.000000Z",
        hash_scheme=LEGACY_SCHEME,  # what migration 0011 marks every earlier row
    )
    dep.store.write(lambda tx: tx.insert_api_key(legacy))

    actor = authenticate(dep, f"Bearer {secret}")
    upgraded = dep.store.read(lambda tx: tx.get_api_key(legacy.id))
    again = authenticate(dep, f"Bearer {secret}")

    assert actor.key_id == legacy.id == again.key_id
    assert upgraded is not None and upgraded.hash_scheme == HMAC_SCHEME
    assert upgraded.secret_hash == dep.key_hasher.digest(secret) != hash_secret(secret)
    assert dep.store.read(lambda tx: tx.api_key_by_hash(hash_secret(secret))) is None


def test_the_plain_hash_fallback_reads_only_rows_marked_legacy(dep: Deployment) -> None:
    """A row under the keyed scheme whose stored value happens to be sha256 of some text: that
    text is no key (only the pepper's HMAC of the secret is)."""
    text = new_api_key_secret("test")
    dep.store.write(
        lambda tx: tx.insert_api_key(
            ApiKey(
                id="zpk_01KEYEDROW00000000000000000",
                partner_id=None,
                role=OPERATOR,
                mode="test",
                secret_hash=hash_secret(text),
                last4=text[-4:],
                created_at="2026-11-01T00:00:00.000000Z",
                hash_scheme=HMAC_SCHEME,
            )
        )
    )
    with pytest.raises(Unauthenticated):
        authenticate(dep, f"Bearer {text}")


def test_another_pepper_refuses_to_start(store: Store, db_url: str, dep: Deployment) -> None:
    onboard(dep)  # keys hashed with the first pepper
    other = Settings(db_url=db_url, key_pepper=secrets.token_hex(32))
    with pytest.raises(SecretConfigError, match="not the pepper"):
        deployment(other, store)


def test_a_weak_pepper_refuses_to_start(store: Store, db_url: str) -> None:
    with pytest.raises(SecretConfigError, match="too weak"):
        deployment(Settings(db_url=db_url, key_pepper="pepper"), store)


@pytest.mark.slow
def test_live_mode_needs_a_pepper_and_keeps_it(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    without = run("init", "--db", db, "--mode", "live")
    assert without.returncode == 2, without.stdout + without.stderr
    assert "ZEROPOOLS_KEY_PEPPER" in without.stderr

    pepper = secrets.token_hex(32)
    issued = run("init", "--db", db, "--new-operator-key", ZEROPOOLS_KEY_PEPPER=pepper)
    assert issued.returncode == 0, issued.stderr
    assert issued.stdout.strip().splitlines()[-1].startswith("zpk_live_")
    assert not (tmp_path / "key-pepper").exists()  # live mode never writes one beside the data

    wrong = run("verify", "--db", db, ZEROPOOLS_KEY_PEPPER=secrets.token_hex(32))
    assert wrong.returncode == 0  # verify reads the ledger, not keys
    refused = run("worker", "--db", db, ZEROPOOLS_KEY_PEPPER=secrets.token_hex(32))
    assert refused.returncode == 2 and "not the pepper" in refused.stderr


def test_test_mode_generates_a_private_pepper_beside_the_sqlite_file(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    assert run("init", "--db", db).returncode == 0
    pepper_file = tmp_path / "key-pepper"
    assert pepper_file.stat().st_mode & 0o777 == 0o600
    assert len(pepper_file.read_text().strip()) == 64

"""Ed25519 signing keys for period checkpoints.

What: load the private key from the PEM (PKCS#8) file ``ZEROPOOLS_SIGNING_KEY_FILE`` names,
derive its public key and id, sign and verify checkpoint text, write new key files. Why a file
and never the database: whoever can write our database must not be able to sign, or a signed
checkpoint would prove nothing. Only public keys are stored (``signing_keys``), so that old
ones stay listed (retired) after a rotation, which is simply a new key file.

The key id is ``sk_`` and the first 24 hex digits of the sha256 of the 32 raw public-key bytes:
anyone holding the public key can recompute it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from zeropools.domain.clock import to_rfc3339
from zeropools.domain.errors import SigningKeyUnavailable
from zeropools.domain.periods import SigningKey
from zeropools.services.context import Ctx, Deployment
from zeropools.store.protocol import Tx

KEY_ID_PREFIX = "sk_"
_KEY_ID_HEX_DIGITS = 24


@dataclass(frozen=True)
class LoadedKey:
    id: str
    public_key: str  # base64 raw
    private: Ed25519PrivateKey

    def sign(self, text: str) -> str:
        return base64.b64encode(self.private.sign(text.encode("utf-8"))).decode("ascii")

    def published(self, now: str) -> SigningKey:
        return SigningKey(self.id, self.public_key, now)


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_raw: bytes) -> str:
    return KEY_ID_PREFIX + hashlib.sha256(public_raw).hexdigest()[:_KEY_ID_HEX_DIGITS]


def generate_key_file(path: Path) -> str:
    """Write a new private key (PEM, PKCS#8, unencrypted, mode 0600) to ``path``; its id."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # created 0600 from the start: never readable by others, not even for a moment
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key_id(raw_public(private.public_key()))


def load_key_file(path: Path) -> LoadedKey:
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    raw = raw_public(private.public_key())
    return LoadedKey(key_id(raw), base64.b64encode(raw).decode("ascii"), private)


def current_key(dep: Deployment) -> LoadedKey:
    """The key that signs new checkpoints; a close without one is refused."""
    if dep.signing_key_file is None:
        raise SigningKeyUnavailable(
            "No signing key is configured: set ZEROPOOLS_SIGNING_KEY_FILE to a PEM file made "
            "by 'zeropools keys generate'. Periods cannot be closed without one."
        )
    try:
        return load_key_file(Path(dep.signing_key_file))
    except (OSError, ValueError) as exc:
        raise SigningKeyUnavailable(
            f"The signing key file {dep.signing_key_file} cannot be read as an Ed25519 PEM "
            f"key ({exc})."
        ) from exc


def verify_signature(public_key_b64: str, text: str, signature_b64: str) -> bool:
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        public.verify(base64.b64decode(signature_b64), text.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True


def register_in(tx: Tx, key: LoadedKey, now: str) -> None:
    tx.register_signing_key(key.published(now), now)


def register_current(dep: Deployment, ctx: Ctx) -> str | None:
    """Publish the configured key (retiring older ones) at start-up; its id, or None."""
    if dep.signing_key_file is None:
        return None
    key = current_key(dep)
    dep.store.write(lambda tx: register_in(tx, key, to_rfc3339(ctx.now)))
    return key.id


def list_keys(dep: Deployment) -> list[SigningKey]:
    return dep.store.read(lambda tx: tx.signing_keys())

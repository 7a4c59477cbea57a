"""API key secrets at rest and in configuration: a keyed hash, and how strong a secret that an
operator chose (``ZEROPOOLS_OPERATOR_KEY``, ``ZEROPOOLS_KEY_PEPPER``) must be.

Keys we generate carry ~238 random bits, so guessing them is hopeless; but a secret an operator
types may be weak, and a stolen ``api_keys`` table with plain SHA-256 hashes could be checked
offline against guesses of weak ones. Hashing with HMAC-SHA256 under a server-side pepper (kept
out of the database) makes the table alone useless for that. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from dataclasses import dataclass, field

HMAC_SCHEME = "hmac-sha256"
# rows written before the pepper existed: sha256(secret); upgraded on their first successful use
LEGACY_SCHEME = "sha256"
HASH_SCHEMES = (HMAC_SCHEME, LEGACY_SCHEME)

SECRET_BITS_MIN = 128
PEPPER_BITS_MIN = 128
# values printed in earlier READMEs and examples: public, so worth nothing as a secret
WELL_KNOWN_SECRETS = frozenset({"zpk_test_demo_operator_key_for_local_use_only"})

_CLASSES = (
    (str.islower, 26),
    (str.isupper, 26),
    (str.isdigit, 10),
)
_OTHER_PRINTABLE = 33  # ASCII punctuation and space


@dataclass(frozen=True)
class KeyHasher:
    """How a key's secret is stored: ``HMAC-SHA256(pepper, secret)`` in hex."""

    pepper: bytes = field(repr=False)  # never in a log line or a traceback's repr
    # HMAC keyed once and copied per digest: every request hashes its key, and the one-shot
    # ``hmac.digest(pepper, ..., "sha256")`` looks the algorithm up in OpenSSL on each call
    # (about twice the time of a copy, more under the API's thread contention)
    _keyed: hmac.HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keyed", hmac.new(self.pepper, digestmod=hashlib.sha256))

    def digest(self, secret: str) -> str:
        keyed = self._keyed.copy()
        keyed.update(secret.encode())
        return keyed.hexdigest()

    def fingerprint(self) -> str:
        """A value stored with the data that tells, at start-up, whether this is the pepper
        the stored keys were hashed with (a wrong one would refuse every key), without
        revealing the pepper."""
        return self.digest("zeropools key pepper check")


def legacy_digest(secret: str) -> str:
    """The scheme of keys stored before the pepper: verified once, then upgraded."""
    return hashlib.sha256(secret.encode()).hexdigest()


def estimated_bits(text: str) -> float:
    """A conservative estimate of the random bits in ``text``.

    Length times the smaller of two per-character figures: what the character classes used
    allow (lower, upper, digits, other), and the Shannon entropy of the text's own character
    counts, so repeats and small alphabets (``aaaa``, ``abab``, ``1111``) count for little.
    It cannot see words: a passphrase of common words can pass, which is why secrets should be
    generated (``zeropools keys operator``), and why well-known values are refused outright.
    """
    if not text:
        return 0.0
    pool = sum(size for test, size in _CLASSES if any(test(ch) for ch in text))
    if any(not ch.isalnum() for ch in text):
        pool += _OTHER_PRINTABLE
    counts = Counter(text)
    shannon = -sum((n / len(text)) * math.log2(n / len(text)) for n in counts.values())
    return len(text) * min(math.log2(pool), shannon)


def operator_secret_weakness(secret: str, mode: str) -> str | None:
    """Why ``secret`` may not be an operator key of a ``mode`` deployment, or None."""
    prefix = f"zpk_{mode}_"
    if not secret.startswith(prefix):
        return f"it must start with {prefix}"
    if secret in WELL_KNOWN_SECRETS:
        return "it is a published example value, known to everyone"
    body = secret[len(prefix) :]
    if not body.isascii() or not body.isprintable() or " " in body:
        return "after the prefix, use printable ASCII without spaces"
    bits = estimated_bits(body)
    if bits < SECRET_BITS_MIN:
        return (
            f"after {prefix} it carries about {int(bits)} bits of randomness; at least "
            f"{SECRET_BITS_MIN} are required (e.g. 40 random letters and digits: "
            "'zeropools keys operator' prints one)"
        )
    return None


def pepper_weakness(pepper: str) -> str | None:
    """Why ``pepper`` may not be the key pepper, or None."""
    bits = estimated_bits(pepper)
    if bits < PEPPER_BITS_MIN:
        return (
            f"it carries about {int(bits)} bits of randomness; at least {PEPPER_BITS_MIN} are "
            "required (e.g. 'openssl rand -hex 32')"
        )
    return None

"""The one place that wires real pieces together: settings -> store -> deployment."""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from zeropools.config import Settings
from zeropools.domain import ids, limits
from zeropools.domain.clock import utc_now
from zeropools.domain.errors import ValidationFailed
from zeropools.domain.keys import KeyHasher, pepper_weakness
from zeropools.domain.ledger import canonical_json
from zeropools.domain.money import CURRENCY_SCALES_SETTING, Currencies
from zeropools.domain.partners import MODES
from zeropools.domain.pools import PoolsConfig, default_pools, parse_pools_config
from zeropools.services import signing
from zeropools.services.context import Ctx, Deployment
from zeropools.store import backup as backups
from zeropools.store.backup import BackupFailed as BackupFailed
from zeropools.store.group_commit import GroupCommitStore
from zeropools.store.open import open_store
from zeropools.store.protocol import Store
from zeropools.store.sqlite import path_from_url

__all__ = ["ConfigurationError", "DatabaseUrlError", "NotInitialized", "database_missing"]
__all__ += ["SecretConfigError", "read_or_create_secret_file", "secrets_folder"]
__all__ += ["deployment", "initialize"]
__all__ += ["Store", "open_database", "open_store"]  # the CLI opens stores only through here

MODE_SETTING = "mode"
PEPPER_CHECK_SETTING = "key_pepper_check"
TEST_PEPPER_NAME = "key-pepper"
SCALES_SETTING = CURRENCY_SCALES_SETTING


class NotInitialized(RuntimeError):
    pass


class ConfigurationError(RuntimeError):
    """The configuration contradicts what the database holds; the service must not start."""


class SecretConfigError(ConfigurationError):
    """A secret setting (the key pepper) is missing, weak or not the one the data was written
    with: a usage error (the command line exits 2) with one line that says what to set."""


class DatabaseUrlError(ConfigurationError):
    """The database URL cannot be used: an unsupported scheme, or a server that cannot be
    reached. A usage error (the command line exits 2), not a problem of the data."""


SUPPORTED_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


def redacted(url: str) -> str:
    """``url`` without its password, fit for a message or a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def open_database(url: str) -> Store:
    """``open_store`` for the command line: an unsupported scheme or an unreachable server is
    one ``DatabaseUrlError`` with one line to print, never a traceback or a pool's retries."""
    if not url.startswith(SUPPORTED_SCHEMES):
        raise DatabaseUrlError(
            f"unsupported database URL {redacted(url)!r}: use sqlite:///FILE or "
            "postgresql://USER@HOST:PORT/DATABASE"
        )
    if url.startswith(("postgresql://", "postgres://")):
        try:  # one attempt before the pool exists: the pool would retry, warning each time
            psycopg.connect(url, connect_timeout=limits.PG_CONNECT_PROBE_TIMEOUT_S).close()
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUrlError(f"cannot reach PostgreSQL at {redacted(url)}: {reason}") from exc
    return open_store(url)


def initialize(store: Store, mode: str | None) -> tuple[list[str], str]:
    """Apply migrations and fix the deployment's mode (it never changes afterwards).

    ``mode`` None keeps the database's mode (a plain upgrade), or chooses ``test`` for a new one.
    """
    assert mode is None or mode in MODES
    applied = store.migrate()

    existing = store.read(lambda tx: tx.get_setting(MODE_SETTING))
    if existing is None:
        chosen = mode or "test"
        store.write(lambda tx: tx.set_setting(MODE_SETTING, chosen))
        existing = chosen
    mode = mode or existing
    if existing != mode:
        raise ValidationFailed(
            f"This database was initialized in {existing} mode; it cannot become {mode}.",
            errors=[{"field": "mode", "message": f"database mode is {existing}"}],
        )
    return applied, existing


def pin_currency_scales(store: Store, configured: Mapping[str, int]) -> dict[str, int]:
    """The scales in force: those stored with the data, plus newly configured currencies.

    Amounts are stored in minor units, so a currency's scale is part of the data: changing it
    later would silently multiply every stored amount. A changed scale refuses to start; a
    currency dropped from the configuration keeps its stored scale (its balances stay readable).
    """
    stored_text = store.read(lambda tx: tx.get_setting(SCALES_SETTING))
    stored: dict[str, int] = json.loads(stored_text) if stored_text else {}
    changed = {
        code: (stored[code], scale)
        for code, scale in configured.items()
        if code in stored and stored[code] != scale
    }
    if changed:
        described = ", ".join(f"{code} {old} -> {new}" for code, (old, new) in changed.items())
        raise ConfigurationError(
            f"currency scales differ from those the stored amounts were written with "
            f"({described}); a scale can never change once money is recorded in it"
        )
    merged = {**stored, **configured}
    if merged != stored:
        store.write(lambda tx: tx.set_setting(SCALES_SETTING, canonical_json(merged)))
    return merged


def load_pools(path: str | None, currencies: Currencies) -> PoolsConfig:
    """The pools file named by ``ZEROPOOLS_POOLS_FILE``, else the demo defaults."""
    if path is None:
        return default_pools()
    return parse_pools_config(Path(path).read_text(encoding="utf-8"), currencies)


TEST_SIGNING_KEY_NAME = "signing-key.pem"
_VAR_DIR = Path("var")


def secrets_folder(db_url: str) -> Path:
    """Where test-mode secrets generated on first use live: beside the SQLite file, else in
    ``./var/`` (a PostgreSQL database has no folder of its own)."""
    return path_from_url(db_url).parent if db_url.startswith("sqlite:///") else _VAR_DIR


def read_or_create_secret_file(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The text in ``path``, or ``make()`` written there (mode 0600) if it does not exist yet;
    and whether it was created now. Written to a private temporary file and linked into place,
    so a process starting at the same moment reads the whole value or makes its own attempt,
    never an empty file."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(make() + "\n")
    try:
        os.link(temporary, path)  # fails if another process linked its value first
        created = True
    except FileExistsError:
        created = False
    finally:
        temporary.unlink()
    return path.read_text(encoding="utf-8").strip(), created


def key_pepper(settings: Settings, mode: str) -> tuple[bytes, tuple[str, ...]]:
    """The pepper of stored API key hashes, and what to say about it at start-up.

    ``ZEROPOOLS_KEY_PEPPER`` when set (at least 128 bits of randomness). A ``live`` deployment
    refuses to start without it: a pepper kept beside the data would be stolen with it. In
    ``test`` mode without it, one is generated on first use beside the SQLite file (``./var/``
    for PostgreSQL), like the test signing key.
    """
    if settings.key_pepper:
        weakness = pepper_weakness(settings.key_pepper)
        if weakness:
            raise SecretConfigError(f"ZEROPOOLS_KEY_PEPPER is too weak: {weakness}")
        return settings.key_pepper.encode(), ()
    if mode != "test":
        raise SecretConfigError(
            "a live deployment needs ZEROPOOLS_KEY_PEPPER (the key of the API key hashes, kept "
            "apart from the database; e.g. 'openssl rand -hex 32')"
        )
    path = secrets_folder(settings.db_url) / TEST_PEPPER_NAME
    text, created = read_or_create_secret_file(path, lambda: secrets.token_hex(32))
    said = "generated an API key pepper at" if created else "hashing API keys with the pepper in"
    return text.encode(), (f"test mode: {said} {path} (set ZEROPOOLS_KEY_PEPPER to choose one)",)


def check_pepper(store: Store, hasher: KeyHasher) -> None:
    """Refuse a pepper other than the one the stored keys were hashed with: every key would be
    refused, which looks like an outage of authentication rather than a configuration error."""
    stored = store.read(lambda tx: tx.get_setting(PEPPER_CHECK_SETTING))
    if stored is None:
        store.write(lambda tx: tx.set_setting(PEPPER_CHECK_SETTING, hasher.fingerprint()))
    elif not hmac.compare_digest(stored, hasher.fingerprint()):
        raise SecretConfigError(
            "ZEROPOOLS_KEY_PEPPER is not the pepper this database's API keys were hashed with; "
            "set the original one (every key would be refused otherwise)"
        )


def signing_key_file(settings: Settings, mode: str) -> tuple[str | None, tuple[str, ...]]:
    """The signing key file in force, and what to say about it at start-up.

    ``ZEROPOOLS_SIGNING_KEY_FILE`` when set. In ``test`` mode without it, a key beside the
    SQLite file (``./var/`` for PostgreSQL), generated on first use, so closing works out of
    the box; in ``live`` mode none: closing is refused until the operator provides one.
    """
    if settings.signing_key_file:
        return settings.signing_key_file, ()
    if mode != "test":
        return None, (
            "no signing key: set ZEROPOOLS_SIGNING_KEY_FILE (zeropools keys generate); "
            "closing periods is refused until then",
        )
    folder = (
        path_from_url(settings.db_url).parent
        if settings.db_url.startswith("sqlite:///")
        else _VAR_DIR
    )
    path = folder / TEST_SIGNING_KEY_NAME
    if path.exists():
        return str(path), (f"test mode: signing period checkpoints with {path}",)
    try:
        signing.generate_key_file(path)
    except FileExistsError:  # another process of this deployment made it a moment ago
        return str(path), (f"test mode: signing period checkpoints with {path}",)
    return str(path), (f"test mode: generated a signing key at {path} (test use only)",)


def deployment(settings: Settings, store: Store | None = None) -> Deployment:
    """Open (and migrate) the store for a running service; the mode comes from the database."""
    store = store or open_database(settings.db_url)
    store.migrate()  # pending migrations apply on start, so upgrading is one command
    mode = store.read(lambda tx: tx.get_setting(MODE_SETTING))
    if mode is None:
        raise NotInitialized(f"{settings.db_url} is not initialized: run 'zeropools init' first.")
    currencies = Currencies(pin_currency_scales(store, settings.currency_scales))
    key_file, notices = signing_key_file(settings, mode)
    pepper, pepper_notices = key_pepper(settings, mode)
    hasher = KeyHasher(pepper)
    check_pepper(store, hasher)
    dep = Deployment(
        # every laned write (a partner's balance) is group-committed with that partner's others;
        # on SQLite every write of the process goes through one writer (one write lock anyway)
        store=store
        if isinstance(store, GroupCommitStore)
        else GroupCommitStore(
            store,
            single_writer=store.dialect == "sqlite",
            merge_lanes=store.dialect == "postgres",
        ),
        mode=mode,
        currencies=currencies,
        pools=load_pools(settings.pools_file, currencies),
        funding_accounts=settings.funding_accounts,
        default_funding_account=settings.funding_account,
        webhook_allow_private=settings.webhook_allow_private,
        delivery_tolerance_bps=settings.delivery_tolerance_bps,
        signing_key_file=key_file,
        notices=notices + pepper_notices,
        key_hasher=hasher,
    )
    # publish the key's public half now, retiring the previous key (a rotation)
    signing.register_current(dep, Ctx(request_id=ids.new_id(ids.REQUEST), now=utc_now()))
    return dep


def backup_database(url: str, dest: Path) -> backups.Backup:
    """``zeropools backup``: a consistent copy of the live database at ``url`` in ``dest``
    (SQLite's online backup API, or ``pg_dump`` in custom format); ``BackupFailed`` if not."""
    return backups.backup(url, dest)


def database_missing(url: str) -> bool:
    """A SQLite URL whose file does not exist (only ``init`` may create one)."""
    return url.startswith("sqlite:///") and not path_from_url(url).exists()

"""Pick the store from a database URL."""

from __future__ import annotations

from zeropools.store.protocol import Store

DEFAULT_DB_URL = "sqlite:///./var/zeropools.db"


def open_store(url: str = DEFAULT_DB_URL) -> Store:
    if url.startswith("sqlite:///"):
        from zeropools.store.sqlite import SqliteStore

        return SqliteStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        from zeropools.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://...")

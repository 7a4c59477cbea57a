"""The one place that wires real pieces together: settings -> store -> deployment."""

from __future__ import annotations

from pathlib import Path

from zeropools.config import Settings
from zeropools.domain.errors import ValidationFailed
from zeropools.domain.money import Currencies
from zeropools.domain.partners import MODES
from zeropools.domain.pools import PoolsConfig, default_pools, parse_pools_config
from zeropools.services.context import Deployment
from zeropools.store.open import open_store
from zeropools.store.protocol import Store

MODE_SETTING = "mode"


class NotInitialized(RuntimeError):
    pass


def initialize(store: Store, mode: str) -> tuple[list[str], str]:
    """Apply migrations and fix the deployment's mode (it never changes afterwards)."""
    assert mode in MODES
    applied = store.migrate()

    existing = store.read(lambda tx: tx.get_setting(MODE_SETTING))
    if existing is None:
        store.write(lambda tx: tx.set_setting(MODE_SETTING, mode))
        existing = mode
    if existing != mode:
        raise ValidationFailed(
            f"This database was initialized in {existing} mode; it cannot become {mode}.",
            errors=[{"field": "mode", "message": f"database mode is {existing}"}],
        )
    return applied, existing


def load_pools(path: str | None, currencies: Currencies) -> PoolsConfig:
    """The pools file named by ``ZEROPOOLS_POOLS_FILE``, else the demo defaults."""
    if path is None:
        return default_pools()
    return parse_pools_config(Path(path).read_text(encoding="utf-8"), currencies)


def deployment(settings: Settings, store: Store | None = None) -> Deployment:
    """Open (and migrate) the store for a running service; the mode comes from the database."""
    store = store or open_store(settings.db_url)
    store.migrate()  # pending migrations apply on start, so upgrading is one command
    mode = store.read(lambda tx: tx.get_setting(MODE_SETTING))
    if mode is None:
        raise NotInitialized(f"{settings.db_url} is not initialized: run 'zeropools init' first.")
    currencies = Currencies(settings.currency_scales)
    return Deployment(
        store=store,
        mode=mode,
        currencies=currencies,
        pools=load_pools(settings.pools_file, currencies),
        funding_accounts=settings.funding_accounts,
        default_funding_account=settings.funding_account,
    )

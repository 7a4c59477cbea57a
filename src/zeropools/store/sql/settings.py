"""SQL of the settings port: one row per key."""

from __future__ import annotations

from zeropools.store.ports import SettingsPort
from zeropools.store.protocol import first
from zeropools.store.sql.executor import Executor


class SqlSettings(SettingsPort):
    _ex: Executor

    def get_setting(self, key: str) -> str | None:
        row = first(self._ex.all("SELECT value FROM settings WHERE key = %s", (key,)))
        return None if row is None else str(row["value"])

    def set_setting(self, key: str, value: str) -> None:
        self._ex.run(
            "INSERT INTO settings (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

-- When a key was last used (minute resolution: written at most once a minute per key), so an
-- operator can tell a forgotten key from a live one before revoking it.
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;

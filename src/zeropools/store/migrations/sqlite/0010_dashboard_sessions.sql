-- Dashboard sign-in sessions (issue 12). Only the sha256 of the session token is stored: a copy
-- of this table lets nobody sign in. A session belongs to the API key it was opened with, so
-- revoking the key ends it (the lookup joins api_keys and refuses a revoked key).
CREATE TABLE dashboard_sessions (
  token_hash   TEXT PRIMARY KEY,
  key_id       TEXT NOT NULL REFERENCES api_keys (id),
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  ended_at     TEXT
);
CREATE INDEX dashboard_sessions_key ON dashboard_sessions (key_id);

-- Finance close: chain version 2, signing keys, closed periods with signed checkpoints (the close
-- rule reads reconciliation_acknowledgements, made by 0008).

-- Chain version 2 hashes exactly what a partner sees in its export row (docs/ledger-hash.md).
-- Entries written before this migration keep version 1 (which also covers the journal lines),
-- so their stored hashes stay verifiable; nothing is rewritten (ADD COLUMN fires no trigger).
ALTER TABLE ledger_entries ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1
  CHECK (hash_version IN (1, 2));
-- the opening balance of a day: the currency's last entry before the day starts
CREATE INDEX ledger_entries_currency_created
  ON ledger_entries (partner_id, currency, created_at, sequence);


-- Public halves only: the private key lives in the file ZEROPOOLS_SIGNING_KEY_FILE names.
CREATE TABLE signing_keys (
  id         TEXT PRIMARY KEY,
  algorithm  TEXT NOT NULL CHECK (algorithm = 'Ed25519'),
  public_key TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  retired_at TEXT
);

CREATE TABLE periods (
  partner_id TEXT NOT NULL REFERENCES partners (id),
  date       TEXT NOT NULL,
  tz         TEXT NOT NULL,
  closed_at  TEXT NOT NULL,
  request_id TEXT NOT NULL,
  PRIMARY KEY (partner_id, date)
);

CREATE TABLE period_checkpoints (
  partner_id              TEXT NOT NULL,
  date                    TEXT NOT NULL,
  currency                TEXT NOT NULL,
  opening_available_minor BIGINT NOT NULL,
  opening_reserved_minor  BIGINT NOT NULL,
  closing_available_minor BIGINT NOT NULL CHECK (closing_available_minor >= 0),
  closing_reserved_minor  BIGINT NOT NULL CHECK (closing_reserved_minor >= 0),
  entries                 BIGINT NOT NULL CHECK (entries >= 0),
  last_sequence           BIGINT NOT NULL CHECK (last_sequence >= 0),
  head_hash               TEXT NOT NULL,
  checkpoint              TEXT NOT NULL,
  signature               TEXT NOT NULL,
  signing_key_id          TEXT NOT NULL REFERENCES signing_keys (id),
  csv_sha256              TEXT NOT NULL,
  jsonl_sha256            TEXT NOT NULL,
  PRIMARY KEY (partner_id, date, currency),
  FOREIGN KEY (partner_id, date) REFERENCES periods (partner_id, date)
);

-- a closed period is history: never updated or deleted
CREATE TRIGGER periods_append_only BEFORE UPDATE OR DELETE ON periods
  FOR EACH ROW EXECUTE FUNCTION zeropools_append_only();
CREATE TRIGGER period_checkpoints_append_only BEFORE UPDATE OR DELETE ON period_checkpoints
  FOR EACH ROW EXECUTE FUNCTION zeropools_append_only();

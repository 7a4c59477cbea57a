-- zeropools schema v1 (SQLite). Money in integer minor units; times RFC 3339 UTC text.
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE partners (
  id              TEXT PRIMARY KEY,
  name            TEXT NOT NULL,
  balance_model   TEXT NOT NULL CHECK (balance_model IN ('debit', 'reserve')),
  created_at      TEXT NOT NULL,
  -- head of the partner's hash chain; the row every balance change locks first
  ledger_sequence INTEGER NOT NULL DEFAULT 0 CHECK (ledger_sequence >= 0),
  ledger_hash     TEXT NOT NULL
);

CREATE TABLE partner_currencies (
  partner_id                  TEXT NOT NULL REFERENCES partners (id),
  currency                    TEXT NOT NULL,
  funding_reference           TEXT NOT NULL UNIQUE,
  low_balance_threshold_minor INTEGER CHECK (low_balance_threshold_minor >= 0),
  available_minor             INTEGER NOT NULL DEFAULT 0 CHECK (available_minor >= 0),
  reserved_minor              INTEGER NOT NULL DEFAULT 0 CHECK (reserved_minor >= 0),
  PRIMARY KEY (partner_id, currency)
);

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,
  partner_id  TEXT REFERENCES partners (id),
  role        TEXT NOT NULL CHECK (role IN ('operator', 'partner_admin', 'partner_server')),
  mode        TEXT NOT NULL CHECK (mode IN ('test', 'live')),
  secret_hash TEXT NOT NULL UNIQUE,
  last4       TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  revoked_at  TEXT,
  CHECK ((role = 'operator') = (partner_id IS NULL))
);
CREATE INDEX api_keys_partner ON api_keys (partner_id);

CREATE TABLE payins (
  id                  TEXT PRIMARY KEY,
  bank_transaction_id TEXT NOT NULL UNIQUE,
  partner_id          TEXT REFERENCES partners (id),
  amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),
  currency            TEXT NOT NULL,
  status              TEXT NOT NULL
    CHECK (status IN ('pending_confirmation', 'credited', 'needs_review', 'returned')),
  booking_status      TEXT NOT NULL CHECK (booking_status IN ('pending', 'booked')),
  reference           TEXT,
  remittance_info     TEXT,
  debtor_name         TEXT,
  debtor_iban         TEXT,
  value_date          TEXT,
  attribution_method  TEXT,
  attributed_by       TEXT,
  review_reason       TEXT,
  ledger_entry_id     TEXT,
  funding_reference   TEXT,
  request_id          TEXT NOT NULL,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  CHECK (status <> 'credited' OR (partner_id IS NOT NULL AND ledger_entry_id IS NOT NULL))
);
CREATE INDEX payins_status ON payins (status, id);
CREATE INDEX payins_partner ON payins (partner_id, id);

CREATE TABLE ledger_entries (
  partner_id            TEXT NOT NULL REFERENCES partners (id),
  sequence              INTEGER NOT NULL CHECK (sequence >= 1),
  id                    TEXT NOT NULL UNIQUE,
  type                  TEXT NOT NULL,
  currency              TEXT NOT NULL,
  amount_minor          INTEGER NOT NULL,
  available_after_minor INTEGER NOT NULL CHECK (available_after_minor >= 0),
  reserved_after_minor  INTEGER NOT NULL CHECK (reserved_after_minor >= 0),
  lines                 TEXT NOT NULL,
  trade_id              TEXT,
  quote_id              TEXT,
  payin_id              TEXT,
  related_entry_id      TEXT,
  funding_reference     TEXT,
  partner_order_id      TEXT,
  reason                TEXT,
  request_id            TEXT NOT NULL,
  created_at            TEXT NOT NULL,
  prev_hash             TEXT NOT NULL,
  hash                  TEXT NOT NULL,
  PRIMARY KEY (partner_id, sequence),
  CHECK (type <> 'payin_credit' OR payin_id IS NOT NULL)
);
-- invariant 6: a pay-in credits at most once
CREATE UNIQUE INDEX ledger_entries_one_credit_per_payin
  ON ledger_entries (payin_id) WHERE type = 'payin_credit';
CREATE INDEX ledger_entries_currency ON ledger_entries (partner_id, currency, sequence);
CREATE INDEX ledger_entries_trade ON ledger_entries (partner_id, trade_id);
CREATE INDEX ledger_entries_created ON ledger_entries (partner_id, created_at);

-- invariant 4: entries are never updated or deleted, whoever asks
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
  SELECT RAISE(ABORT, 'ledger_entries is append-only: UPDATE rejected');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
  SELECT RAISE(ABORT, 'ledger_entries is append-only: DELETE rejected');
END;

-- Quotes, trades, refusals and idempotency keys (SQLite).
CREATE TABLE quotes (
  partner_id          TEXT NOT NULL REFERENCES partners (id),
  id                  TEXT PRIMARY KEY,
  pool_id             TEXT NOT NULL,
  source_currency     TEXT NOT NULL,
  source_amount_minor INTEGER NOT NULL CHECK (source_amount_minor > 0),
  target_asset        TEXT NOT NULL,
  target_amount_minor INTEGER NOT NULL CHECK (target_amount_minor > 0),
  rate                TEXT NOT NULL,
  fee_minor           INTEGER NOT NULL CHECK (fee_minor >= 0),
  fee_bps             INTEGER NOT NULL CHECK (fee_bps >= 0),
  partner_order_id    TEXT,
  created_at          TEXT NOT NULL,
  expires_at          TEXT NOT NULL,
  request_id          TEXT NOT NULL
);
CREATE INDEX quotes_partner ON quotes (partner_id, id);

CREATE TABLE trades (
  partner_id             TEXT NOT NULL REFERENCES partners (id),
  id                     TEXT PRIMARY KEY,
  -- a quote executes at most once, whoever races for it
  quote_id               TEXT NOT NULL UNIQUE REFERENCES quotes (id),
  pool_id                TEXT NOT NULL,
  partner_order_id       TEXT NOT NULL,
  status                 TEXT NOT NULL
    CHECK (status IN ('reserved', 'debited', 'settled', 'released', 'failed', 'returned')),
  balance_model          TEXT NOT NULL CHECK (balance_model IN ('debit', 'reserve')),
  source_amount_minor    INTEGER NOT NULL CHECK (source_amount_minor > 0),
  currency               TEXT NOT NULL,
  target_amount_minor    INTEGER NOT NULL CHECK (target_amount_minor > 0),
  asset                  TEXT NOT NULL,
  delivered_amount_minor INTEGER CHECK (delivered_amount_minor >= 0),
  tx_hash                TEXT,
  failure_reason         TEXT,
  destination            TEXT,
  request_id             TEXT NOT NULL,
  created_at             TEXT NOT NULL,
  updated_at             TEXT NOT NULL
);
CREATE INDEX trades_partner ON trades (partner_id, id);
CREATE INDEX trades_partner_order ON trades (partner_id, partner_order_id);
CREATE INDEX trades_status ON trades (status, created_at);

-- Refused executions stay queryable: they explain to support why an order failed.
CREATE TABLE trade_refusals (
  partner_id       TEXT NOT NULL REFERENCES partners (id),
  id               TEXT PRIMARY KEY,
  quote_id         TEXT,
  partner_order_id TEXT,
  code             TEXT NOT NULL,
  detail           TEXT NOT NULL,
  request_id       TEXT NOT NULL,
  created_at       TEXT NOT NULL
);
CREATE INDEX trade_refusals_partner ON trade_refusals (partner_id, id);

CREATE TABLE idempotency_keys (
  scope         TEXT NOT NULL,
  key           TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  request_id    TEXT NOT NULL,
  locked_until  TEXT,
  status_code   INTEGER,
  response_body BLOB,
  created_at    TEXT NOT NULL,
  completed_at  TEXT,
  PRIMARY KEY (scope, key)
);

-- Quotes, trades, refusals and idempotency keys (PostgreSQL).
CREATE TABLE quotes (
  partner_id          text NOT NULL REFERENCES partners (id),
  id                  text PRIMARY KEY,
  pool_id             text NOT NULL,
  source_currency     text NOT NULL,
  source_amount_minor bigint NOT NULL CHECK (source_amount_minor > 0),
  target_asset        text NOT NULL,
  target_amount_minor bigint NOT NULL CHECK (target_amount_minor > 0),
  rate                text NOT NULL,
  fee_minor           bigint NOT NULL CHECK (fee_minor >= 0),
  fee_bps             integer NOT NULL CHECK (fee_bps >= 0),
  partner_order_id    text,
  created_at          text NOT NULL,
  expires_at          text NOT NULL,
  request_id          text NOT NULL
);
CREATE INDEX quotes_partner ON quotes (partner_id, id);

CREATE TABLE trades (
  partner_id             text NOT NULL REFERENCES partners (id),
  id                     text PRIMARY KEY,
  -- a quote executes at most once, whoever races for it
  quote_id               text NOT NULL UNIQUE REFERENCES quotes (id),
  pool_id                text NOT NULL,
  partner_order_id       text NOT NULL,
  status                 text NOT NULL
    CHECK (status IN ('reserved', 'debited', 'settled', 'released', 'failed', 'returned')),
  balance_model          text NOT NULL CHECK (balance_model IN ('debit', 'reserve')),
  source_amount_minor    bigint NOT NULL CHECK (source_amount_minor > 0),
  currency               text NOT NULL,
  target_amount_minor    bigint NOT NULL CHECK (target_amount_minor > 0),
  asset                  text NOT NULL,
  delivered_amount_minor bigint CHECK (delivered_amount_minor >= 0),
  tx_hash                text,
  failure_reason         text,
  destination            text,
  request_id             text NOT NULL,
  created_at             text NOT NULL,
  updated_at             text NOT NULL
);
CREATE INDEX trades_partner ON trades (partner_id, id);
CREATE INDEX trades_partner_order ON trades (partner_id, partner_order_id);
CREATE INDEX trades_status ON trades (status, created_at);

-- Refused executions stay queryable: they explain to support why an order failed.
CREATE TABLE trade_refusals (
  partner_id       text NOT NULL REFERENCES partners (id),
  id               text PRIMARY KEY,
  quote_id         text,
  partner_order_id text,
  code             text NOT NULL,
  detail           text NOT NULL,
  request_id       text NOT NULL,
  created_at       text NOT NULL
);
CREATE INDEX trade_refusals_partner ON trade_refusals (partner_id, id);

CREATE TABLE idempotency_keys (
  scope         text NOT NULL,
  key           text NOT NULL,
  fingerprint   text NOT NULL,
  request_id    text NOT NULL,
  locked_until  text,
  status_code   integer,
  response_body bytea,
  created_at    text NOT NULL,
  completed_at  text,
  PRIMARY KEY (scope, key)
);

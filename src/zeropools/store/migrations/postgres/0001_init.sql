-- zeropools schema v1 (PostgreSQL). Money in bigint minor units; times RFC 3339 UTC text, so
-- the hashed bytes read back exactly as written on both stores.
CREATE TABLE settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE partners (
  id              text PRIMARY KEY,
  name            text NOT NULL,
  balance_model   text NOT NULL CHECK (balance_model IN ('debit', 'reserve')),
  created_at      text NOT NULL,
  -- head of the partner's hash chain; the row every balance change locks first
  ledger_sequence bigint NOT NULL DEFAULT 0 CHECK (ledger_sequence >= 0),
  ledger_hash     text NOT NULL
);

CREATE TABLE partner_currencies (
  partner_id                  text NOT NULL REFERENCES partners (id),
  currency                    text NOT NULL,
  funding_reference           text NOT NULL UNIQUE,
  low_balance_threshold_minor bigint CHECK (low_balance_threshold_minor >= 0),
  available_minor             bigint NOT NULL DEFAULT 0 CHECK (available_minor >= 0),
  reserved_minor              bigint NOT NULL DEFAULT 0 CHECK (reserved_minor >= 0),
  PRIMARY KEY (partner_id, currency)
);

CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  partner_id  text REFERENCES partners (id),
  role        text NOT NULL CHECK (role IN ('operator', 'partner_admin', 'partner_server')),
  mode        text NOT NULL CHECK (mode IN ('test', 'live')),
  secret_hash text NOT NULL UNIQUE,
  last4       text NOT NULL,
  created_at  text NOT NULL,
  revoked_at  text,
  CHECK ((role = 'operator') = (partner_id IS NULL))
);
CREATE INDEX api_keys_partner ON api_keys (partner_id);

CREATE TABLE payins (
  id                  text PRIMARY KEY,
  bank_transaction_id text NOT NULL UNIQUE,
  partner_id          text REFERENCES partners (id),
  amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
  currency            text NOT NULL,
  status              text NOT NULL
    CHECK (status IN ('pending_confirmation', 'credited', 'needs_review', 'returned')),
  booking_status      text NOT NULL CHECK (booking_status IN ('pending', 'booked')),
  reference           text,
  remittance_info     text,
  debtor_name         text,
  debtor_iban         text,
  value_date          text,
  attribution_method  text,
  attributed_by       text,
  review_reason       text,
  ledger_entry_id     text,
  funding_reference   text,
  request_id          text NOT NULL,
  created_at          text NOT NULL,
  updated_at          text NOT NULL,
  CHECK (status <> 'credited' OR (partner_id IS NOT NULL AND ledger_entry_id IS NOT NULL))
);
CREATE INDEX payins_status ON payins (status, id);
CREATE INDEX payins_partner ON payins (partner_id, id);

CREATE TABLE ledger_entries (
  partner_id            text NOT NULL REFERENCES partners (id),
  sequence              bigint NOT NULL CHECK (sequence >= 1),
  id                    text NOT NULL UNIQUE,
  type                  text NOT NULL,
  currency              text NOT NULL,
  amount_minor          bigint NOT NULL,
  available_after_minor bigint NOT NULL CHECK (available_after_minor >= 0),
  reserved_after_minor  bigint NOT NULL CHECK (reserved_after_minor >= 0),
  lines                 text NOT NULL,
  trade_id              text,
  quote_id              text,
  payin_id              text,
  related_entry_id      text,
  funding_reference     text,
  partner_order_id      text,
  reason                text,
  request_id            text NOT NULL,
  created_at            text NOT NULL,
  prev_hash             text NOT NULL,
  hash                  text NOT NULL,
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
CREATE FUNCTION zeropools_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % rejected', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION zeropools_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION zeropools_append_only();

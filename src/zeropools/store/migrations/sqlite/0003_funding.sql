-- Funding: platform suspense journal, pay-in audit columns (SQLite).
-- amount_minor becomes nullable (a bank amount finer than the currency cannot be expressed in
-- minor units; it waits for review with its text kept): SQLite needs a table rebuild for that.
CREATE TABLE payins_v3 (
  id                  TEXT PRIMARY KEY,
  bank_transaction_id TEXT NOT NULL UNIQUE,
  partner_id          TEXT REFERENCES partners (id),
  amount_minor        INTEGER CHECK (amount_minor > 0),
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
  amount_text         TEXT,
  attributed_at       TEXT,
  return_reason       TEXT,
  CHECK (status <> 'credited' OR (partner_id IS NOT NULL AND ledger_entry_id IS NOT NULL)),
  CHECK (amount_minor IS NOT NULL OR amount_text IS NOT NULL),
  CHECK (amount_minor IS NOT NULL OR status IN ('needs_review', 'returned', 'pending_confirmation'))
);
INSERT INTO payins_v3 (id, bank_transaction_id, partner_id, amount_minor, currency, status,
  booking_status, reference, remittance_info, debtor_name, debtor_iban, value_date,
  attribution_method, attributed_by, review_reason, ledger_entry_id, funding_reference,
  request_id, created_at, updated_at)
SELECT id, bank_transaction_id, partner_id, amount_minor, currency, status, booking_status,
  reference, remittance_info, debtor_name, debtor_iban, value_date, attribution_method,
  attributed_by, review_reason, ledger_entry_id, funding_reference, request_id, created_at,
  updated_at
FROM payins;
DROP TABLE payins;
ALTER TABLE payins_v3 RENAME TO payins;
CREATE INDEX payins_status ON payins (status, id);
CREATE INDEX payins_partner ON payins (partner_id, id);

-- Journals of the platform alone: money received but not attributed is parked in suspense
-- (bank -X, suspense +X) and leaves it either to a partner (that partner's payin_credit takes
-- it from suspense) or back to the sender (suspense -X, bank +X).
CREATE TABLE platform_entries (
  id         TEXT PRIMARY KEY,
  type       TEXT NOT NULL CHECK (type IN ('suspense_park', 'suspense_return')),
  currency   TEXT NOT NULL,
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  lines      TEXT NOT NULL,
  payin_id   TEXT NOT NULL REFERENCES payins (id),
  request_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (payin_id, type)
);
CREATE TRIGGER platform_entries_no_update BEFORE UPDATE ON platform_entries
BEGIN
  SELECT RAISE(ABORT, 'platform_entries is append-only: UPDATE rejected');
END;
CREATE TRIGGER platform_entries_no_delete BEFORE DELETE ON platform_entries
BEGIN
  SELECT RAISE(ABORT, 'platform_entries is append-only: DELETE rejected');
END;

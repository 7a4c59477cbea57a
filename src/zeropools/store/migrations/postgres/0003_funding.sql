-- Funding: platform suspense journal, pay-in audit columns (PostgreSQL).
ALTER TABLE payins ADD COLUMN amount_text text;
ALTER TABLE payins ADD COLUMN attributed_at text;
ALTER TABLE payins ADD COLUMN return_reason text;
-- a bank amount finer than the currency cannot be expressed in minor units: it waits for review
-- with its text kept
ALTER TABLE payins ALTER COLUMN amount_minor DROP NOT NULL;
ALTER TABLE payins ADD CHECK (amount_minor IS NOT NULL OR amount_text IS NOT NULL);
ALTER TABLE payins ADD CHECK (
  amount_minor IS NOT NULL OR status IN ('needs_review', 'returned', 'pending_confirmation'));

-- Journals of the platform alone: money received but not attributed is parked in suspense
-- (bank -X, suspense +X) and leaves it either to a partner (that partner's payin_credit takes
-- it from suspense) or back to the sender (suspense -X, bank +X).
CREATE TABLE platform_entries (
  id         text PRIMARY KEY,
  type       text NOT NULL CHECK (type IN ('suspense_park', 'suspense_return')),
  currency   text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  lines      text NOT NULL,
  payin_id   text NOT NULL REFERENCES payins (id),
  request_id text NOT NULL,
  created_at text NOT NULL,
  UNIQUE (payin_id, type)
);
CREATE TRIGGER platform_entries_append_only BEFORE UPDATE OR DELETE ON platform_entries
  FOR EACH ROW EXECUTE FUNCTION zeropools_append_only();
CREATE TRIGGER platform_entries_no_truncate BEFORE TRUNCATE ON platform_entries
  FOR EACH STATEMENT EXECUTE FUNCTION zeropools_append_only();

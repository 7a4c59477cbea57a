-- Invariant 5, in the database too: an entry is unwound (refunded, released, returned,
-- reversed) at most once. And idempotency claims commit with their response, so the lease
-- column of the first design has no use left.
CREATE UNIQUE INDEX ledger_entries_unwound_once
  ON ledger_entries (partner_id, related_entry_id) WHERE related_entry_id IS NOT NULL;
ALTER TABLE idempotency_keys DROP COLUMN locked_until;

-- A partner's entries of one type, oldest first (GET /v1/ledger-entries?type=..., the
-- dashboard's ledger filter): found by (partner_id, type) and read in sequence order. Without
-- it the planner walked the partner's whole (partner_id, sequence) key and tested each entry's
-- type, so listing a rare type (an adjustment, a return) cost the partner's whole history.
CREATE INDEX ledger_entries_partner_type ON ledger_entries (partner_id, type, sequence);

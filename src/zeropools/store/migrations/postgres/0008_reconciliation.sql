-- Reconciliation (issue 9), PostgreSQL. Migration 0006 is the webhook deliveries' (another
-- branch). An acknowledgement says somebody saw a failed or returned trade, or a recalled
-- pay-in: who, when and why. One per item; never changed or removed (the statuses it
-- acknowledges are final).
CREATE TABLE reconciliation_acknowledgements (
  partner_id      text NOT NULL REFERENCES partners (id),
  item_id         text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('trade', 'payin')),
  status          text NOT NULL,
  acknowledged_by text NOT NULL,
  acknowledged_at text NOT NULL,
  note            text NOT NULL,
  source          text NOT NULL CHECK (source IN ('api', 'match')),
  request_id      text NOT NULL,
  PRIMARY KEY (partner_id, item_id)
);
CREATE TRIGGER reconciliation_acknowledgements_append_only
  BEFORE UPDATE OR DELETE ON reconciliation_acknowledgements
  FOR EACH ROW EXECUTE FUNCTION zeropools_append_only();
CREATE TRIGGER reconciliation_acknowledgements_no_truncate
  BEFORE TRUNCATE ON reconciliation_acknowledgements
  FOR EACH STATEMENT EXECUTE FUNCTION zeropools_append_only();

-- The reads of reconciliation and support: a day's trades and pay-ins, a pay-in's entries,
-- everything one request did, a funding reference's pay-ins, an order's quotes and refusals.
CREATE INDEX trades_partner_created ON trades (partner_id, created_at);
CREATE INDEX trades_request ON trades (request_id);
CREATE INDEX payins_partner_created ON payins (partner_id, created_at);
CREATE INDEX payins_funding_reference ON payins (funding_reference, created_at);
CREATE INDEX payins_request ON payins (request_id);
CREATE INDEX ledger_entries_payin ON ledger_entries (partner_id, payin_id);
CREATE INDEX ledger_entries_request ON ledger_entries (request_id);
CREATE INDEX quotes_request ON quotes (request_id);
CREATE INDEX quotes_partner_order ON quotes (partner_id, partner_order_id);
CREATE INDEX trade_refusals_request ON trade_refusals (request_id);
CREATE INDEX trade_refusals_order ON trade_refusals (partner_id, partner_order_id);
CREATE INDEX trade_refusals_quote ON trade_refusals (quote_id);
CREATE INDEX events_request ON events (request_id);
-- An event names what it is about (the id of its data.object), so support finds a trade's
-- events whichever request wrote them; events written before this migration have none.
ALTER TABLE events ADD COLUMN subject_id text;
CREATE INDEX events_subject ON events (stream, subject_id);

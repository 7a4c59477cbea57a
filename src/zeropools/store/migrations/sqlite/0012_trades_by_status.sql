-- A partner's trades in one status, newest first (GET /v1/trades?status=..., the dashboard's
-- open trades): found by (partner_id, status) and read in id order. Without it the planner
-- walked the partner's whole (partner_id, id) index and filtered the status row by row, so a
-- partner with a long history paid for every trade it ever made to list its few open ones.
CREATE INDEX trades_partner_status ON trades (partner_id, status, id);

-- Webhooks (API.md "webhook endpoints"): a partner's endpoints with their delivery state, the
-- log of every attempt, and redeliveries asked for through the API.
--
-- An endpoint row is also its delivery queue: events of the partner's stream are delivered in
-- sequence order, so the queue is a cursor (delivered_sequence: every event up to it is done,
-- delivered or given up) plus the attempt count and due time of the event after it. A worker
-- takes an endpoint by writing its lease (lease_owner, lease_expires_at) and sends outside any
-- transaction; a lease that expires (a worker died) lets another worker resend the same event.
--
-- The secrets are stored as given: signing needs the secret itself (HMAC), so unlike API keys
-- they cannot be kept as hashes (docs/api-notes.md).
CREATE TABLE webhook_endpoints (
  partner_id          TEXT NOT NULL REFERENCES partners (id),
  id                  TEXT NOT NULL UNIQUE,
  url                 TEXT NOT NULL,
  description         TEXT,
  event_types         TEXT NOT NULL,  -- JSON list of types; ["*"] is every type
  status              TEXT NOT NULL CHECK (status IN ('enabled', 'deleted')),
  secret              TEXT NOT NULL,
  previous_secret     TEXT,
  previous_expires_at TEXT,
  created_at          TEXT NOT NULL,
  deleted_at          TEXT,
  delivered_sequence  INTEGER NOT NULL CHECK (delivered_sequence >= 0),
  attempt             INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  next_attempt_at     TEXT NOT NULL,
  lease_owner         TEXT,
  lease_expires_at    TEXT,
  PRIMARY KEY (partner_id, id),
  CHECK ((previous_secret IS NULL) = (previous_expires_at IS NULL)),
  CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
  CHECK ((status = 'deleted') = (deleted_at IS NOT NULL))
);
-- what a worker looks for: enabled endpoints whose next attempt is due
CREATE INDEX webhook_endpoints_due ON webhook_endpoints (status, next_attempt_at);

-- One row per attempt, never changed: status is what the attempt left the delivery in
-- (succeeded; pending: failed, next attempt at next_attempt_at; failed: given up).
CREATE TABLE webhook_deliveries (
  partner_id      TEXT NOT NULL,
  endpoint_id     TEXT NOT NULL,
  id              TEXT NOT NULL UNIQUE,
  event_id        TEXT NOT NULL,
  redelivery_id   TEXT,  -- set when the attempt was a redelivery asked for through the API
  attempt         INTEGER NOT NULL CHECK (attempt >= 1),
  status          TEXT NOT NULL CHECK (status IN ('succeeded', 'failed', 'pending')),
  status_code     INTEGER,
  latency_ms      INTEGER CHECK (latency_ms >= 0),
  error           TEXT,
  attempted_at    TEXT NOT NULL,
  next_attempt_at TEXT,
  PRIMARY KEY (partner_id, endpoint_id, id),
  FOREIGN KEY (partner_id, endpoint_id) REFERENCES webhook_endpoints (partner_id, id),
  CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (partner_id, event_id);

CREATE TRIGGER webhook_deliveries_no_update BEFORE UPDATE ON webhook_deliveries
BEGIN
  SELECT RAISE(ABORT, 'webhook_deliveries is append-only: UPDATE rejected');
END;
CREATE TRIGGER webhook_deliveries_no_delete BEFORE DELETE ON webhook_deliveries
BEGIN
  SELECT RAISE(ABORT, 'webhook_deliveries is append-only: DELETE rejected');
END;

-- POST /v1/events/{id}/redeliver: one event to one endpoint again, outside the endpoint's
-- sequence order, retried on the same schedule; leased like endpoints.
CREATE TABLE webhook_redeliveries (
  partner_id       TEXT NOT NULL,
  id               TEXT NOT NULL UNIQUE,
  endpoint_id      TEXT NOT NULL,
  event_id         TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
  attempt          INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  next_attempt_at  TEXT NOT NULL,
  lease_owner      TEXT,
  lease_expires_at TEXT,
  requested_at     TEXT NOT NULL,
  request_id       TEXT NOT NULL,
  PRIMARY KEY (partner_id, id),
  FOREIGN KEY (partner_id, endpoint_id) REFERENCES webhook_endpoints (partner_id, id),
  CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);
CREATE INDEX webhook_redeliveries_due ON webhook_redeliveries (status, next_attempt_at);

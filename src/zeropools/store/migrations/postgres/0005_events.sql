-- Events: the transactional outbox (API.md "events"). Each stream (a partner id, or 'platform'
-- for what operators see without ?partner_id=) has one gap-free sequence from 1; an event's
-- body is the JSON served and delivered, fixed when written.
CREATE TABLE event_streams (
  stream TEXT PRIMARY KEY,
  last_sequence BIGINT NOT NULL CHECK (last_sequence >= 0)
);
CREATE TABLE events (
  stream TEXT NOT NULL,
  sequence BIGINT NOT NULL CHECK (sequence >= 1),
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  request_id TEXT,
  created_at TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (stream, sequence)
);
CREATE INDEX events_by_type ON events (stream, type, sequence);

-- an event, once written, is what partners were told: never changed, never removed
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION zeropools_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION zeropools_append_only();

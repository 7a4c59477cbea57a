-- Events: the transactional outbox (API.md "events"). Each stream (a partner id, or 'platform'
-- for what operators see without ?partner_id=) has one gap-free sequence from 1; an event's
-- body is the JSON served and delivered, fixed when written.
CREATE TABLE event_streams (
  stream TEXT PRIMARY KEY,
  last_sequence INTEGER NOT NULL CHECK (last_sequence >= 0)
);
CREATE TABLE events (
  stream TEXT NOT NULL,
  sequence INTEGER NOT NULL CHECK (sequence >= 1),
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  request_id TEXT,
  created_at TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (stream, sequence)
);
CREATE INDEX events_by_type ON events (stream, type, sequence);

-- an event, once written, is what partners were told: never changed, never removed
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events is append-only: UPDATE rejected');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events is append-only: DELETE rejected');
END;

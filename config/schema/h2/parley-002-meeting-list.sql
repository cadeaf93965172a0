-- Read side: a user's meeting list, derived from Meeting events by the meeting-list projection
-- (rebuildable by replaying the journal). Times are epoch milliseconds. Deleted meetings stay as
-- tombstones (status 'deleted') so a late event can never bring them back.
CREATE TABLE IF NOT EXISTS meeting_list (
  id VARCHAR(64) PRIMARY KEY,
  owner_id VARCHAR(36) NOT NULL,
  title VARCHAR(500) NOT NULL,
  status VARCHAR(16) NOT NULL,
  progress DOUBLE PRECISION NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  duration_seconds DOUBLE PRECISION,
  size_bytes BIGINT,
  content_type VARCHAR(255),
  speakers INTEGER,
  error VARCHAR(2000),
  last_seq BIGINT NOT NULL DEFAULT 0
);
-- newest first per owner, keyset pagination on (created_at, id)
CREATE INDEX IF NOT EXISTS meeting_list_owner_created_idx ON meeting_list (owner_id, created_at DESC, id DESC);
-- queued / running counts for /cluster
CREATE INDEX IF NOT EXISTS meeting_list_status_idx ON meeting_list (status);

-- where each projection stands in the journal (the ordering of the last event applied); written
-- in the same transaction as the rows the events produced
CREATE TABLE IF NOT EXISTS projection_offset (
  projection_name VARCHAR(255) PRIMARY KEY,
  current_offset BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

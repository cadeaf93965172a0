-- Blob store in the database (parley.blob.store = postgres): audio shared by http and gpu nodes on
-- different machines. A blob is a row in blob_object plus fixed-size chunks, written and read one
-- chunk at a time, never whole.
CREATE TABLE IF NOT EXISTS blob_object (
  blob_key VARCHAR(255) PRIMARY KEY,
  size_bytes BIGINT NOT NULL,
  sha256 VARCHAR(64) NOT NULL,
  chunk_size INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_chunk (
  blob_key VARCHAR(255) NOT NULL,
  chunk_index INTEGER NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (blob_key, chunk_index)
);
-- audio does not compress: store chunks out of line without trying. Only when not yet so: the ALTER
-- takes an exclusive lock on the table, which would queue behind any long reader (a pg_dump) and stop
-- every upload and audio read behind it whenever this runs again (before Flyway, at every start; now
-- at the first start with Flyway on a database from before it).
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'blob_chunk'::regclass AND attname = 'data' AND attstorage <> 'e') THEN
    ALTER TABLE blob_chunk ALTER COLUMN data SET STORAGE EXTERNAL; END IF; END $$;

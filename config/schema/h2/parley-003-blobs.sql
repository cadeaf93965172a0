-- Blob store in the database (see the postgres version); H2 keeps chunks as BLOBs.
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
  data BLOB NOT NULL,
  PRIMARY KEY (blob_key, chunk_index)
);

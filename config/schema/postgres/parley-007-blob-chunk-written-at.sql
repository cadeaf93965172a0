-- When each chunk of a database blob was written (epoch milliseconds), so that the chunks of an
-- upload cut off by a crash (blob_chunk rows and no blob_object row, which is written last) can be
-- told from an upload still running and removed once none has come for a while (JdbcBlobStore).
-- The default stamps the chunks that nodes of the release before write during a rolling upgrade
-- (they do not set it), and the chunks already there with the time of this migration; a stable
-- default is kept in the catalogue, not written into every row. Its exclusive lock would queue
-- behind a long reader (a pg_dump): added only when missing, as in parley-006, and the node's
-- lock_timeout bounds the wait.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'blob_chunk'::regclass AND attname = 'written_at' AND NOT attisdropped) THEN
    ALTER TABLE blob_chunk ADD COLUMN written_at BIGINT DEFAULT (extract(epoch FROM now()) * 1000)::bigint;
  END IF; END $$;

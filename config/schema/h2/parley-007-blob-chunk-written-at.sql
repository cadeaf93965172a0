-- When each chunk of a database blob was written (see the postgres version).
ALTER TABLE blob_chunk ADD COLUMN IF NOT EXISTS written_at BIGINT;

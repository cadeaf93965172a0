-- Token revocation (dev.parley.http.auth.TokenGenerations): every JWT carries the generation of its
-- user's tokens it was issued in (claim "gen"; a token from before this column counts as 0). A
-- password change or a logout adds one, and every token issued before stops working.
-- Only when the column is missing: an ALTER TABLE takes an exclusive lock on users even when
-- IF NOT EXISTS then finds the column, so whenever this runs again (the first start with Flyway on a
-- database from before it) it would queue behind any long reader (a pg_dump) and stop every login
-- behind it. A constant default adds the column without a rewrite.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'token_generation' AND NOT attisdropped) THEN
    ALTER TABLE users ADD COLUMN IF NOT EXISTS token_generation BIGINT NOT NULL DEFAULT 0; END IF; END $$;

-- Token revocation (see the postgres version): a user's tokens carry the generation they were
-- issued in; a password change or a logout adds one, and older tokens stop working.
ALTER TABLE users ADD COLUMN IF NOT EXISTS token_generation BIGINT NOT NULL DEFAULT 0;

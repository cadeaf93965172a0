-- The meeting list's error as GET /meetings/{id} has it, {reason, retryable} (see the postgres
-- version). Rows the projection wrote before get the flag from their reason: a retryable failure's
-- has always ended " (gave up after N attempts)", a bad input's never. Every row the projection
-- fails from now on has the flag, so the UPDATE only ever touches rows from before the column.
ALTER TABLE meeting_list ADD COLUMN IF NOT EXISTS error_retryable BOOLEAN;
UPDATE meeting_list SET error_retryable = COALESCE(error LIKE '% (gave up after % attempts)', FALSE)
  WHERE status = 'failed' AND error_retryable IS NULL;

-- The meeting list's error as GET /meetings/{id} has it, {reason, retryable}: error_retryable is the
-- Failed event's flag (true: transient failures used up the attempts; false: the input is bad),
-- null unless the meeting failed.
-- Added only when missing: the ALTER takes an exclusive lock on the table, which whenever this runs
-- again (the first start with Flyway on a database from before it) would queue behind any long reader
-- (a pg_dump) and stop every list query behind it. Rows the
-- projection wrote before get the flag from their reason: a retryable failure's has always ended
-- " (gave up after N attempts)" (Meeting.retryOrFail), a bad input's never; only a reason cut to
-- the column's 2000 characters before that ending would read as not retryable.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'meeting_list'::regclass AND attname = 'error_retryable' AND NOT attisdropped) THEN
    ALTER TABLE meeting_list ADD COLUMN error_retryable BOOLEAN;
    UPDATE meeting_list SET error_retryable = COALESCE(error LIKE '% (gave up after % attempts)', FALSE) WHERE status = 'failed';
  END IF; END $$;

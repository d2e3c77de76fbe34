-- Refunds are claimed row by row: claim_token names the worker that holds a row (NULL when no one
-- does), and while a row is SENDING its next_attempt_at is the end of that worker's lease, after
-- which another worker may claim it. A refund the gateway refused (4xx) becomes FAILED: kept with
-- its last_error, never sent again. Both statements can run again after a half-applied run
-- (MySQL commits each ALTER by itself; MySQL 8 has no ADD COLUMN IF NOT EXISTS).
-- @skip-if-exists column refund_outbox.claim_token
ALTER TABLE refund_outbox ADD COLUMN claim_token VARCHAR(64) NULL;
ALTER TABLE refund_outbox
  MODIFY COLUMN status ENUM('PENDING','SENDING','DONE','FAILED') NOT NULL DEFAULT 'PENDING';

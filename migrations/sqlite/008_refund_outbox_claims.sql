-- Refunds are claimed row by row: claim_token names the worker that holds a row (NULL when no one
-- does), and while a row is SENDING its next_attempt_at is the end of that worker's lease, after
-- which another worker may claim it. A refund the gateway refused (4xx) becomes FAILED: kept with
-- its last_error, never sent again.
--
-- SQLite cannot change the CHECK on status in place, so the table is rebuilt: safe inside the
-- migration's one transaction (nothing references refund_outbox), and AUTOINCREMENT carries on
-- from the copied ids.
CREATE TABLE refund_outbox_008 (
  outbox_id INTEGER PRIMARY KEY AUTOINCREMENT,
  payment_id INTEGER NOT NULL UNIQUE REFERENCES payments(payment_id),
  receipt_id TEXT,
  cancel_price INTEGER NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING','SENDING','DONE','FAILED')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')),
  claim_token TEXT
);
INSERT INTO refund_outbox_008 (outbox_id, payment_id, receipt_id, cancel_price, reason, status,
                               attempts, next_attempt_at, last_error, created_at, updated_at)
  SELECT outbox_id, payment_id, receipt_id, cancel_price, reason, status, attempts,
         next_attempt_at, last_error, created_at, updated_at
  FROM refund_outbox;
DROP TABLE refund_outbox;
ALTER TABLE refund_outbox_008 RENAME TO refund_outbox;
CREATE INDEX IF NOT EXISTS idx_refund_outbox_due ON refund_outbox(status, next_attempt_at);

-- Refunds to send to the payment gateway, written in the same transaction as the cancel that
-- causes them, so none is lost; one row per payment, so none is sent twice.
CREATE TABLE IF NOT EXISTS refund_outbox (
  outbox_id INTEGER PRIMARY KEY AUTOINCREMENT,
  payment_id INTEGER NOT NULL UNIQUE REFERENCES payments(payment_id),
  receipt_id TEXT,
  cancel_price INTEGER NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING','SENDING','DONE')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now'))
);
CREATE INDEX IF NOT EXISTS idx_refund_outbox_due ON refund_outbox(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS idx_payments_booking ON payments(booking_id);

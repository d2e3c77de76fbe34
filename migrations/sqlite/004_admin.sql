-- One ACTIVE discount per schedule, enforced by the database (two admins clicking at once
-- cannot both succeed). Older duplicates, if any, are retired first: the newest one stays.
UPDATE flight_discounts SET status = 'INACTIVE'
  WHERE status = 'ACTIVE' AND discount_id NOT IN (
    SELECT MAX(discount_id) FROM flight_discounts WHERE status = 'ACTIVE' GROUP BY schedule_id);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_active_discount ON flight_discounts(schedule_id)
  WHERE status = 'ACTIVE';

-- Every admin write, recorded in the same transaction as the change.
CREATE TABLE IF NOT EXISTS admin_audit (
  audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
  admin_user_id INTEGER NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  request_id TEXT,
  summary TEXT NOT NULL CHECK (json_valid(summary)),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now'))
);
CREATE INDEX IF NOT EXISTS idx_admin_audit_created ON admin_audit(created_at);

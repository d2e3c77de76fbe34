-- One ACTIVE discount per schedule, enforced by the database (two admins clicking at once
-- cannot both succeed): a generated column that is the schedule id only while ACTIVE, with a
-- unique key (NULLs do not collide). Older duplicates, if any, are retired first.
UPDATE flight_discounts d
  JOIN (SELECT schedule_id, MAX(discount_id) AS keep_id FROM flight_discounts
        WHERE status = 'ACTIVE' GROUP BY schedule_id) k ON k.schedule_id = d.schedule_id
  SET d.status = 'INACTIVE'
  WHERE d.status = 'ACTIVE' AND d.discount_id <> k.keep_id;
-- Two statements, each skipped when what it adds exists: MySQL 8 has no ADD COLUMN IF NOT EXISTS,
-- and a run that failed between them must be able to finish the job.
-- @skip-if-exists column flight_discounts.active_schedule_id
ALTER TABLE flight_discounts
  ADD COLUMN active_schedule_id INT AS (CASE WHEN status = 'ACTIVE' THEN schedule_id END) STORED;
-- @skip-if-exists index flight_discounts.uniq_active_discount
ALTER TABLE flight_discounts ADD UNIQUE KEY uniq_active_discount (active_schedule_id);

-- Every admin write, recorded in the same transaction as the change.
CREATE TABLE IF NOT EXISTS admin_audit (
  audit_id INT AUTO_INCREMENT PRIMARY KEY,
  admin_user_id INT NOT NULL,
  action VARCHAR(50) NOT NULL,
  target VARCHAR(100) NOT NULL,
  request_id VARCHAR(128),
  summary JSON NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY idx_admin_audit_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

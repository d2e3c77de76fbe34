-- Seat integrity in the database: a seat of a schedule belongs to at most one live booking.
-- Cancelling a booking deletes its rows here.
CREATE TABLE IF NOT EXISTS seat_assignments (
  schedule_id INTEGER NOT NULL REFERENCES flight_schedules(schedule_id),
  seat_number TEXT NOT NULL,
  booking_id INTEGER NOT NULL REFERENCES bookings(booking_id),
  PRIMARY KEY (schedule_id, seat_number)
);
CREATE INDEX IF NOT EXISTS idx_seat_assignments_booking ON seat_assignments(booking_id);

-- Seats of bookings that already exist (an adopted database). The original gave every passenger
-- of a booking the same seat and could double-book; the first holder keeps a contested seat.
INSERT OR IGNORE INTO seat_assignments (schedule_id, seat_number, booking_id)
  SELECT b.schedule_id, p.seat_number, b.booking_id
  FROM passengers p JOIN bookings b ON b.booking_id = p.booking_id
  WHERE b.status = 'CONFIRMED' AND p.seat_number IS NOT NULL AND p.seat_number <> ''
  ORDER BY b.booking_id;

-- Idempotency keys: a retried create returns the first result instead of booking again.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id INTEGER NOT NULL,
  idem_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  booking_id INTEGER NOT NULL,
  booking_number TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')),
  PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX IF NOT EXISTS idx_idempotency_created ON idempotency_keys(created_at);
CREATE INDEX IF NOT EXISTS idx_bookings_user_created ON bookings(user_id, created_at);

-- Seat integrity in the database: a seat of a schedule belongs to at most one live booking.
-- Cancelling a booking deletes its rows here.
CREATE TABLE IF NOT EXISTS seat_assignments (
  schedule_id INT NOT NULL,
  seat_number VARCHAR(5) NOT NULL,
  booking_id INT NOT NULL,
  PRIMARY KEY (schedule_id, seat_number),
  KEY idx_seat_assignments_booking (booking_id),
  FOREIGN KEY (schedule_id) REFERENCES flight_schedules(schedule_id),
  FOREIGN KEY (booking_id) REFERENCES bookings(booking_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Seats of bookings that already exist (an adopted database). The original gave every passenger
-- of a booking the same seat and could double-book; the first holder keeps a contested seat.
INSERT IGNORE INTO seat_assignments (schedule_id, seat_number, booking_id)
  SELECT b.schedule_id, p.seat_number, b.booking_id
  FROM passengers p JOIN bookings b ON b.booking_id = p.booking_id
  WHERE b.status = 'CONFIRMED' AND p.seat_number IS NOT NULL AND p.seat_number <> ''
  ORDER BY b.booking_id;

-- Idempotency keys: a retried create returns the first result instead of booking again.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id INT NOT NULL,
  idem_key VARCHAR(100) NOT NULL,
  request_hash CHAR(64) NOT NULL,
  booking_id INT NOT NULL,
  booking_number VARCHAR(20) NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (user_id, idem_key),
  KEY idx_idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

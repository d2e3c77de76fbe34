-- Holds with a pay-by deadline (BOOKING_HOLD_MINUTES): a booking created without a captured
-- payment is HELD until hold_expires_at (UTC, from the service clock); a captured payment makes
-- it CONFIRMED, the hold sweeper makes an unpaid one EXPIRED and gives its seats back. With holds
-- off every booking is CONFIRMED at once, as before. Re-runnable: MODIFY sets the same type
-- again, the column and index are skipped when present.
ALTER TABLE bookings MODIFY status
  ENUM('HELD','CONFIRMED','CANCELLED','COMPLETED','EXPIRED') NOT NULL DEFAULT 'CONFIRMED';
-- @skip-if-exists column bookings.hold_expires_at
ALTER TABLE bookings ADD COLUMN hold_expires_at DATETIME NULL;
-- The sweeper's scan: HELD bookings by deadline.
-- @skip-if-exists index bookings.idx_bookings_hold
CREATE INDEX idx_bookings_hold ON bookings (status, hold_expires_at);

-- Holds with a pay-by deadline (BOOKING_HOLD_MINUTES): a booking created without a captured
-- payment is HELD until hold_expires_at (UTC, from the service clock); a captured payment makes
-- it CONFIRMED, the hold sweeper makes an unpaid one EXPIRED and gives its seats back. With holds
-- off every booking is CONFIRMED at once, as before.
-- The status CHECK constraint gains HELD and EXPIRED in the code step of this migration
-- (src/core/migrations.cpp): SQLite cannot alter a constraint, and rebuilding bookings would need
-- foreign keys off, which a migration transaction cannot switch.
ALTER TABLE bookings ADD COLUMN hold_expires_at TEXT;
-- The sweeper's scan: HELD bookings by deadline.
CREATE INDEX IF NOT EXISTS idx_bookings_hold ON bookings (status, hold_expires_at);

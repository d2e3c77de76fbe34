-- Each airport's IANA time zone: a flight departs at its schedule's date and departure_time on
-- the wall clock of its departure airport, so "has it left?" needs the zone. Rows that predate the
-- column (an adopted database's own airports) get Asia/Seoul, CloudJet's home zone; the reference
-- airports are then set by their IATA code. Only rows still at the default change, so an
-- operator's correction is never undone, and every statement can run again after a half-applied
-- run (MySQL commits the ALTER by itself; MySQL 8 has no ADD COLUMN IF NOT EXISTS).
-- @skip-if-exists column airports.time_zone
ALTER TABLE airports ADD COLUMN time_zone VARCHAR(64) NOT NULL DEFAULT 'Asia/Seoul';
UPDATE airports SET time_zone = 'Asia/Tokyo'
  WHERE airport_code IN ('NRT', 'KIX') AND time_zone = 'Asia/Seoul';
UPDATE airports SET time_zone = 'Asia/Bangkok' WHERE airport_code = 'BKK' AND time_zone = 'Asia/Seoul';
UPDATE airports SET time_zone = 'Australia/Sydney'
  WHERE airport_code = 'SYD' AND time_zone = 'Asia/Seoul';
UPDATE airports SET time_zone = 'America/Los_Angeles'
  WHERE airport_code = 'LAX' AND time_zone = 'Asia/Seoul';
UPDATE airports SET time_zone = 'Europe/Paris' WHERE airport_code = 'CDG' AND time_zone = 'Asia/Seoul';

-- The original CloudJet schema (spec/API.md, data model) in SQLite's dialect. Enumerations are
-- CHECK constraints; dates and times are ISO-8601 text.
CREATE TABLE IF NOT EXISTS users (
  user_id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL CHECK (length(name) <= 50),
  email TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(email) <= 100),
  password_hash TEXT NOT NULL,
  phone TEXT CHECK (length(phone) <= 20),
  birth_date TEXT,
  role TEXT NOT NULL DEFAULT 'USER' CHECK (role IN ('USER','ADMIN')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now'))
);

CREATE TABLE IF NOT EXISTS airports (
  airport_code TEXT PRIMARY KEY CHECK (length(airport_code) <= 3),
  airport_name TEXT NOT NULL,
  city TEXT NOT NULL,
  country TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS flights (
  flight_id TEXT PRIMARY KEY CHECK (length(flight_id) <= 10),
  airline TEXT NOT NULL DEFAULT 'CloudJet',
  departure_airport TEXT NOT NULL REFERENCES airports(airport_code),
  arrival_airport TEXT NOT NULL REFERENCES airports(airport_code),
  departure_time TEXT NOT NULL,
  arrival_time TEXT NOT NULL,
  duration TEXT,
  aircraft TEXT,
  base_price INTEGER NOT NULL,
  total_seats INTEGER NOT NULL DEFAULT 180,
  is_active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now'))
);

CREATE TABLE IF NOT EXISTS flight_schedules (
  schedule_id INTEGER PRIMARY KEY AUTOINCREMENT,
  flight_id TEXT NOT NULL REFERENCES flights(flight_id),
  flight_date TEXT NOT NULL,
  current_price INTEGER NOT NULL,
  available_seats INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE','CANCELLED','DELAYED')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')),
  UNIQUE (flight_id, flight_date)
);
CREATE INDEX IF NOT EXISTS idx_schedule_date ON flight_schedules(flight_date);

CREATE TABLE IF NOT EXISTS bookings (
  booking_id INTEGER PRIMARY KEY AUTOINCREMENT,
  booking_number TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users(user_id),
  schedule_id INTEGER NOT NULL REFERENCES flight_schedules(schedule_id),
  seat_number TEXT,
  total_amount INTEGER NOT NULL,
  contact_email TEXT,
  contact_phone TEXT,
  payment_method TEXT,
  status TEXT NOT NULL DEFAULT 'CONFIRMED' CHECK (status IN ('CONFIRMED','CANCELLED','COMPLETED')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now'))
);
CREATE INDEX IF NOT EXISTS idx_bookings_user ON bookings(user_id);
CREATE INDEX IF NOT EXISTS idx_bookings_schedule ON bookings(schedule_id);

CREATE TABLE IF NOT EXISTS passengers (
  passenger_id INTEGER PRIMARY KEY AUTOINCREMENT,
  booking_id INTEGER NOT NULL REFERENCES bookings(booking_id) ON DELETE CASCADE,
  name_kor TEXT NOT NULL,
  name_eng TEXT,
  birth_date TEXT,
  gender TEXT CHECK (gender IN ('M','F')),
  seat_number TEXT
);
CREATE INDEX IF NOT EXISTS idx_passengers_booking ON passengers(booking_id);

CREATE TABLE IF NOT EXISTS payments (
  payment_id INTEGER PRIMARY KEY AUTOINCREMENT,
  booking_id INTEGER REFERENCES bookings(booking_id),
  user_id INTEGER NOT NULL REFERENCES users(user_id),
  method TEXT NOT NULL DEFAULT 'CARD' CHECK (method IN ('CARD','KAKAO')),
  provider TEXT NOT NULL DEFAULT 'NICEPAY' CHECK (provider IN ('NICEPAY','KAKAO')),
  amount INTEGER NOT NULL,
  currency TEXT NOT NULL DEFAULT 'KRW',
  status TEXT NOT NULL DEFAULT 'REQUESTED' CHECK (status IN ('REQUESTED','PAID','FAILED','CANCELLED')),
  bootpay_receipt_id TEXT UNIQUE,
  order_id TEXT UNIQUE,
  raw_payload TEXT CHECK (raw_payload IS NULL OR json_valid(raw_payload)),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now'))
);

CREATE TABLE IF NOT EXISTS flight_discounts (
  discount_id INTEGER PRIMARY KEY AUTOINCREMENT,
  schedule_id INTEGER NOT NULL REFERENCES flight_schedules(schedule_id),
  discount_percentage INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE','INACTIVE','EXPIRED')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now'))
);

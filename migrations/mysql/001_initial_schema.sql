-- The original CloudJet schema (spec/API.md, data model). IF NOT EXISTS everywhere: a database the
-- original MySQL scripts created is adopted as it is, without losing rows.
CREATE TABLE IF NOT EXISTS users (
  user_id INT AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100) NOT NULL UNIQUE,
  password_hash VARCHAR(255) NOT NULL,
  phone VARCHAR(20),
  birth_date DATE,
  role ENUM('USER','ADMIN') NOT NULL DEFAULT 'USER',
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS airports (
  airport_code VARCHAR(3) PRIMARY KEY,
  airport_name VARCHAR(100) NOT NULL,
  city VARCHAR(50) NOT NULL,
  country VARCHAR(50) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS flights (
  flight_id VARCHAR(10) PRIMARY KEY,
  airline VARCHAR(50) NOT NULL DEFAULT 'CloudJet',
  departure_airport VARCHAR(3) NOT NULL,
  arrival_airport VARCHAR(3) NOT NULL,
  departure_time TIME NOT NULL,
  arrival_time TIME NOT NULL,
  duration VARCHAR(20),
  aircraft VARCHAR(50),
  base_price INT NOT NULL,
  total_seats INT NOT NULL DEFAULT 180,
  is_active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (departure_airport) REFERENCES airports(airport_code),
  FOREIGN KEY (arrival_airport) REFERENCES airports(airport_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS flight_schedules (
  schedule_id INT AUTO_INCREMENT PRIMARY KEY,
  flight_id VARCHAR(10) NOT NULL,
  flight_date DATE NOT NULL,
  current_price INT NOT NULL,
  available_seats INT NOT NULL,
  status ENUM('ACTIVE','CANCELLED','DELAYED') NOT NULL DEFAULT 'ACTIVE',
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY unique_flight_date (flight_id, flight_date),
  KEY idx_schedule_date (flight_date),
  FOREIGN KEY (flight_id) REFERENCES flights(flight_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS bookings (
  booking_id INT AUTO_INCREMENT PRIMARY KEY,
  booking_number VARCHAR(20) NOT NULL UNIQUE,
  user_id INT NOT NULL,
  schedule_id INT NOT NULL,
  seat_number VARCHAR(5),
  total_amount INT NOT NULL,
  contact_email VARCHAR(100),
  contact_phone VARCHAR(20),
  payment_method VARCHAR(20),
  status ENUM('CONFIRMED','CANCELLED','COMPLETED') NOT NULL DEFAULT 'CONFIRMED',
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY idx_bookings_user (user_id),
  KEY idx_bookings_schedule (schedule_id),
  FOREIGN KEY (user_id) REFERENCES users(user_id),
  FOREIGN KEY (schedule_id) REFERENCES flight_schedules(schedule_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS passengers (
  passenger_id INT AUTO_INCREMENT PRIMARY KEY,
  booking_id INT NOT NULL,
  name_kor VARCHAR(50) NOT NULL,
  name_eng VARCHAR(100),
  birth_date DATE,
  gender ENUM('M','F'),
  seat_number VARCHAR(5),
  FOREIGN KEY (booking_id) REFERENCES bookings(booking_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS payments (
  payment_id INT AUTO_INCREMENT PRIMARY KEY,
  booking_id INT NULL,
  user_id INT NOT NULL,
  method ENUM('CARD','KAKAO') NOT NULL DEFAULT 'CARD',
  provider ENUM('NICEPAY','KAKAO') NOT NULL DEFAULT 'NICEPAY',
  amount INT NOT NULL,
  currency VARCHAR(3) NOT NULL DEFAULT 'KRW',
  status ENUM('REQUESTED','PAID','FAILED','CANCELLED') NOT NULL DEFAULT 'REQUESTED',
  bootpay_receipt_id VARCHAR(100) UNIQUE,
  order_id VARCHAR(100) UNIQUE,
  raw_payload JSON,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  FOREIGN KEY (booking_id) REFERENCES bookings(booking_id),
  FOREIGN KEY (user_id) REFERENCES users(user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS flight_discounts (
  discount_id INT AUTO_INCREMENT PRIMARY KEY,
  schedule_id INT NOT NULL,
  discount_percentage INT NOT NULL,
  status ENUM('ACTIVE','INACTIVE','EXPIRED') NOT NULL DEFAULT 'ACTIVE',
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  FOREIGN KEY (schedule_id) REFERENCES flight_schedules(schedule_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

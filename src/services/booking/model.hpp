// Booking domain types and their JSON mapping (spec/API.md § Booking).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace cj::booking {

struct PassengerIn {
  std::string name;
  std::optional<std::string> name_en;
  std::string birth;   // YYYY-MM-DD
  std::string gender;  // M | F
};

struct NewBooking {
  long long schedule_id = 0;
  std::vector<PassengerIn> passengers;
  std::string contact_email;
  std::string contact_phone;
  std::string payment_method;
  long long total_amount = 0;
  std::vector<std::string> seats;  // empty, or one per passenger in the same order
};

struct Created {
  long long booking_id = 0;
  std::string booking_number;
  std::string status;                          // CONFIRMED, or HELD when holds are on
  std::optional<std::string> hold_expires_at;  // API timestamp (…Z) of a HELD booking's deadline
  bool replayed = false;                       // answered from an Idempotency-Key
};

struct PassengerOut {
  long long booking_id = 0;
  std::string name_kor;
  std::optional<std::string> name_eng;
  std::optional<std::string> birth_date;
  std::optional<std::string> gender;
  std::optional<std::string> seat_number;
};

struct BookingOut {
  long long booking_id = 0;
  std::string booking_number;
  std::optional<std::string> seat_number;
  long long total_amount = 0;
  std::optional<std::string> contact_email;
  std::optional<std::string> contact_phone;
  std::optional<std::string> payment_method;
  std::string status;
  std::string created_at;
  std::optional<std::string> hold_expires_at;  // HELD only: pay by then or the seats go back
  std::string flight_date;
  std::string flight_id;
  std::string airline;
  std::string departure_airport;
  std::string arrival_airport;
  std::string departure_time;
  std::string arrival_time;
  std::optional<std::string> duration;
  std::optional<std::string> aircraft;
  std::string departure_name;
  std::string arrival_name;
  std::vector<PassengerOut> passengers;
};

// Validates the whole request (no database): 400s name the offending field.
Result<NewBooking> parse_new_booking(const nlohmann::json& body);
// A stable fingerprint of the validated request, to tell an Idempotency-Key retry from a
// different request. Computed only when a key is sent.
std::string request_fingerprint(const NewBooking& booking);

nlohmann::json booking_json(const BookingOut& b);
// The 201 body of a create (and of its Idempotency-Key replay).
nlohmann::json created_json(const Created& c);

// Errors of this service.
Error not_enough_seats();
Error seat_taken(const std::string& seat);
Error invalid_seat(const std::string& seat);
Error schedule_not_found();
Error schedule_unavailable();
Error price_changed(long long unit_price, long long total_price);
Error idempotency_conflict();
Error booking_not_cancellable();  // no live booking with that number (of that user): 404
// Time rules (409): booking within SALES_CUTOFF_MINUTES of departure, booking or cancelling after
// it.
Error sales_closed(int cutoff_minutes);
Error flight_departed();
Error not_cancellable();
// MAX_UNPAID_BOOKINGS_PER_USER reached (409).
Error too_many_unpaid_bookings(int limit);

}  // namespace cj::booking

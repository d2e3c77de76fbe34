// Admin domain types, validation and JSON shapes (spec/API.md § Admin).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace cj::admin {

struct FlightIn {
  std::string flight_id;
  std::string airline = "CloudJet";
  std::string departure_airport;
  std::string arrival_airport;
  std::string departure_time;  // HH:MM:SS (normalised)
  std::string arrival_time;
  std::string duration;  // "N시간 M분", computed
  std::string aircraft;
  long long base_price = 0;
  long long total_seats = 180;
};

struct ScheduleSpec {
  std::vector<std::string> dates;            // each a real date, today or later
  std::optional<long long> current_price;    // default: the flight's base_price
  std::optional<long long> available_seats;  // default: the flight's total_seats
  bool overwrite = false;
};

constexpr int kMaxRangeDays = 90;

Result<FlightIn> parse_flight(const nlohmann::json& body);
Result<ScheduleSpec> parse_schedule_spec(const nlohmann::json& body);
Result<int> parse_discount_percentage(const nlohmann::json& body);

// "HH:MM:SS" → "HH:MM" (the admin screens show minutes).
std::string hh_mm(const std::string& time);

// Errors of this service.
Error invalid_departure_airport();
Error invalid_arrival_airport();
Error flight_exists();
Error flight_not_found();
Error schedule_not_found();
Error discount_exists();
Error discount_not_found();
Error empty_search_term();
// 409: a seat count (a flight's total_seats, a schedule's offered seats) below the passengers
// already sold on a schedule of `date`.
Error seats_below_sold(const std::string& date, long long sold, long long seats);
// 409: a flight's new total_seats whose seat map no longer has a seat already assigned.
Error assigned_seat_outside(const std::string& date, const std::string& seat, long long seats);

}  // namespace cj::admin

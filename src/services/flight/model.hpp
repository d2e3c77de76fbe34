// Flight domain types and their JSON shapes (spec/API.md § Flight).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace cj::flight {

struct SearchQuery {
  std::string departure;  // upper-cased IATA code
  std::string arrival;
  std::string date;  // YYYY-MM-DD
};

struct ScheduleRow {
  long long schedule_id = 0;
  std::string flight_id;
  std::string airline;
  std::string departure_airport;
  std::string arrival_airport;
  std::string departure_time;  // HH:MM:SS
  std::string arrival_time;
  std::string duration;
  std::string aircraft;
  long long original_price = 0;  // the schedule's current_price
  long long available_seats = 0;
  std::string date;
  std::string departure_name;
  std::string arrival_name;
  std::optional<int> discount_percentage;
  std::string departure_zone;  // the departure airport's IANA time zone (not in the JSON)

  [[nodiscard]] long long price() const;  // after the discount
};

// The rows of a schedule query that are on sale now, and the earliest instant at which one of
// them stops being on sale (what bounds how long a cached answer stays right).
struct OnSale {
  std::vector<ScheduleRow> rows;
  std::optional<std::int64_t> closes_at;
};

struct Airport {
  std::string code;
  std::string name;
  std::string city;
  std::string country;
  std::string time_zone;
};

// Price after a percentage discount, rounded half up like the original's SQL ROUND().
long long discounted_price(long long price, int percentage);

Result<SearchQuery> parse_search(const std::optional<std::string>& departure,
                                 const std::optional<std::string>& arrival,
                                 const std::optional<std::string>& date);

// Ordered by price after discount, then departure time.
void sort_for_search(std::vector<ScheduleRow>& rows);

nlohmann::json search_row_json(const ScheduleRow& r);
nlohmann::json featured_row_json(const ScheduleRow& r);
nlohmann::json promotion_row_json(const ScheduleRow& r);
nlohmann::json airport_json(const Airport& a);

}  // namespace cj::flight

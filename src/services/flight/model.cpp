#include "services/flight/model.hpp"

#include <algorithm>

#include "core/validate.hpp"

namespace cj::flight {
namespace {

Error missing_search_params() {
  return {400, "missing_field", "출발지, 도착지, 날짜를 모두 입력해주세요.",
          "departure, arrival and date are all required."};
}

std::optional<std::string> airport_code(const std::string& raw) {
  std::string code = validate::trim(raw);
  if (code.size() != 3) return std::nullopt;
  for (auto& c : code) {
    if (std::isalpha(static_cast<unsigned char>(c)) == 0) return std::nullopt;
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return code;
}

nlohmann::json nullable_int(const std::optional<int>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

long long discounted_price(long long price, int percentage) {
  // price × (100 − p) / 100, half up, in integers (no floating point for money).
  return (price * (100 - percentage) + 50) / 100;
}

long long ScheduleRow::price() const {
  return discount_percentage ? discounted_price(original_price, *discount_percentage)
                             : original_price;
}

Result<SearchQuery> parse_search(const std::optional<std::string>& departure,
                                 const std::optional<std::string>& arrival,
                                 const std::optional<std::string>& date) {
  if (!departure || !arrival || !date || validate::trim(*departure).empty() ||
      validate::trim(*arrival).empty() || validate::trim(*date).empty()) {
    return missing_search_params();
  }
  SearchQuery q;
  auto dep = airport_code(*departure);
  if (!dep) {
    return Error{400, "invalid_field", "출발지 공항 코드가 올바르지 않습니다.",
                 "departure must be a three-letter airport code."};
  }
  auto arr = airport_code(*arrival);
  if (!arr) {
    return Error{400, "invalid_field", "도착지 공항 코드가 올바르지 않습니다.",
                 "arrival must be a three-letter airport code."};
  }
  q.departure = *dep;
  q.arrival = *arr;
  q.date = validate::trim(*date);
  if (!validate::is_date(q.date)) {
    return Error{400, "invalid_field", "날짜 형식이 올바르지 않습니다. (YYYY-MM-DD)",
                 "date must be a real date in YYYY-MM-DD form."};
  }
  return q;
}

void sort_for_search(std::vector<ScheduleRow>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const ScheduleRow& a, const ScheduleRow& b) {
    if (a.price() != b.price()) return a.price() < b.price();
    return a.departure_time < b.departure_time;
  });
}

nlohmann::json search_row_json(const ScheduleRow& r) {
  return {{"schedule_id", r.schedule_id},
          {"flight_id", r.flight_id},
          {"airline", r.airline},
          {"departure_airport", r.departure_airport},
          {"arrival_airport", r.arrival_airport},
          {"departure_time", r.departure_time},
          {"arrival_time", r.arrival_time},
          {"duration", r.duration},
          {"aircraft", r.aircraft},
          {"original_price", r.original_price},
          {"price", r.price()},
          {"available_seats", r.available_seats},
          {"date", r.date},
          {"departure_name", r.departure_name},
          {"arrival_name", r.arrival_name},
          {"discount_percentage", nullable_int(r.discount_percentage)},
          {"has_discount", r.discount_percentage.has_value()},
          {"flightId", r.flight_id},
          {"departureAirport", r.departure_airport},
          {"arrivalAirport", r.arrival_airport},
          {"departureTime", r.departure_time},
          {"arrivalTime", r.arrival_time}};
}

nlohmann::json featured_row_json(const ScheduleRow& r) {
  auto j = search_row_json(r);
  j["discounted_price"] = r.price();
  j["flight_date"] = r.date;
  return j;
}

nlohmann::json promotion_row_json(const ScheduleRow& r) {
  return {{"schedule_id", r.schedule_id},
          {"flight_id", r.flight_id},
          {"airline", r.airline},
          {"departure_airport", r.departure_airport},
          {"departure_name", r.departure_name},
          {"arrival_airport", r.arrival_airport},
          {"arrival_name", r.arrival_name},
          {"departure_time", r.departure_time},
          {"arrival_time", r.arrival_time},
          {"duration", r.duration},
          {"aircraft", r.aircraft},
          {"original_price", r.original_price},
          {"available_seats", r.available_seats},
          {"flight_date", r.date},
          {"discount_percentage", nullable_int(r.discount_percentage)},
          {"discounted_price", r.price()}};
}

nlohmann::json airport_json(const Airport& a) {
  return {{"airport_code", a.code},
          {"airport_name", a.name},
          {"city", a.city},
          {"country", a.country},
          {"time_zone", a.time_zone}};
}

}  // namespace cj::flight

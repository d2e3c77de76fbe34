#include "services/admin/model.hpp"

#include <chrono>
#include <regex>

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/money.hpp"
#include "core/validate.hpp"
#include "services/flight/rules.hpp"

namespace cj::admin {
namespace {

Error bad(const std::string& field, const std::string& ko, const std::string& en) {
  return errors::invalid_field(field, ko, en);
}

// 1..max; absent or null is missing_field when required, else 0 ("use the default").
Result<long long> positive(const nlohmann::json& body, const std::string& field, long long max,
                           bool required) {
  if (required) return validate::required_integer(body, field, validate::one_to(max));
  auto v = validate::optional_integer(body, field, validate::one_to(max));
  if (!v) return v.error();
  return v->value_or(0);
}

Result<std::string> time_field(const nlohmann::json& body, const std::string& field) {
  auto v = validate::required_string(body, field);
  if (!v) return v.error();
  if (v->size() != 5 || !flight::parse_time_of_day(*v)) {
    return bad(field, "시간은 HH:MM 형식이어야 합니다.", "must be a time in HH:MM form");
  }
  return *v + ":00";
}

Result<std::string> airport_field(const nlohmann::json& body, const std::string& field) {
  auto v = validate::required_string(body, field);
  if (!v) return v.error();
  std::string code = *v;
  for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return code;
}

Result<std::string> date_field(const nlohmann::json& body, const std::string& field) {
  auto v = validate::required_string(body, field);
  if (!v) return v.error();
  if (!validate::is_date(*v)) {
    return bad(field, "날짜 형식이 올바르지 않습니다. (YYYY-MM-DD)",
               "must be a real date in YYYY-MM-DD form");
  }
  if (*v < validate::today()) {
    return bad(field, "지난 날짜에는 스케줄을 만들 수 없습니다.", "must be today or later");
  }
  return *v;
}

}  // namespace

Result<FlightIn> parse_flight(const nlohmann::json& body) {
  FlightIn f;
  auto id = validate::required_string(body, "flight_id");
  if (!id) return id.error();
  static const std::regex flight_id_re("^[A-Z0-9]{2,10}$");
  if (!std::regex_match(*id, flight_id_re)) {
    return bad("flight_id", "항공편 번호는 영문 대문자와 숫자 2~10자여야 합니다.",
               "must be 2 to 10 characters of A-Z and 0-9");
  }
  f.flight_id = *id;
  auto dep = airport_field(body, "departure_airport");
  if (!dep) return dep.error();
  f.departure_airport = *dep;
  auto arr = airport_field(body, "arrival_airport");
  if (!arr) return arr.error();
  f.arrival_airport = *arr;
  if (f.departure_airport == f.arrival_airport) {
    return bad("arrival_airport", "출발지와 도착지가 같을 수 없습니다.",
               "must differ from departure_airport");
  }
  auto dep_t = time_field(body, "departure_time");
  if (!dep_t) return dep_t.error();
  f.departure_time = *dep_t;
  auto arr_t = time_field(body, "arrival_time");
  if (!arr_t) return arr_t.error();
  f.arrival_time = *arr_t;
  f.duration = flight::duration_text(*flight::parse_time_of_day(f.departure_time),
                                     *flight::parse_time_of_day(f.arrival_time));
  auto aircraft = validate::required_string(body, "aircraft");
  if (!aircraft) return aircraft.error();
  if (validate::utf8_length(*aircraft).value_or(999) > 50) {
    return bad("aircraft", "기종은 50자 이하여야 합니다.", "must be at most 50 characters");
  }
  f.aircraft = *aircraft;
  auto price = positive(body, "base_price", money::kMaxFare, true);
  if (!price) return price.error();
  f.base_price = *price;
  auto seats = positive(body, "total_seats", 1000, false);
  if (!seats) return seats.error();
  if (*seats > 0) f.total_seats = *seats;
  auto airline = validate::optional_string(body, "airline");
  if (!airline) return airline.error();
  if (*airline) {
    std::string a = validate::trim(**airline);
    if (a.empty() || validate::utf8_length(a).value_or(999) > 50) {
      return bad("airline", "항공사 이름은 1~50자여야 합니다.", "must be 1 to 50 characters");
    }
    f.airline = a;
  }
  return f;
}

Result<ScheduleSpec> parse_schedule_spec(const nlohmann::json& body) {
  ScheduleSpec spec;
  auto mode = validate::required_string(body, "mode");
  if (!mode) return mode.error();
  if (*mode == "single") {
    auto d = date_field(body, "date");
    if (!d) return d.error();
    spec.dates.push_back(*d);
  } else if (*mode == "range") {
    auto start = date_field(body, "start_date");
    if (!start) return start.error();
    auto end = validate::required_string(body, "end_date");
    if (!end) return end.error();
    if (!validate::is_date(*end)) {
      return bad("end_date", "날짜 형식이 올바르지 않습니다. (YYYY-MM-DD)",
                 "must be a real date in YYYY-MM-DD form");
    }
    if (*end < *start) {
      return bad("end_date", "종료일은 시작일보다 빠를 수 없습니다.",
                 "must not be before start_date");
    }
    for (std::string d = *start; d <= *end; d = clock::add_days(d, 1)) {
      if (static_cast<int>(spec.dates.size()) >= kMaxRangeDays) {
        return bad("end_date", "기간은 최대 90일입니다.", "the range is at most 90 days");
      }
      spec.dates.push_back(d);
    }
  } else {
    return bad("mode", "mode는 single 또는 range여야 합니다.", "must be single or range");
  }
  auto price = positive(body, "current_price", money::kMaxFare, false);
  if (!price) return price.error();
  if (*price > 0) spec.current_price = *price;
  auto seats = positive(body, "available_seats", 1000, false);
  if (!seats) return seats.error();
  if (*seats > 0) spec.available_seats = *seats;
  if (auto it = body.find("overwrite"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean())
      return bad("overwrite", "true 또는 false여야 합니다.", "must be a boolean");
    spec.overwrite = it->get<bool>();
  }
  return spec;
}

Result<int> parse_discount_percentage(const nlohmann::json& body) {
  auto pct = validate::required_integer(
      body, "discount_percentage",
      {1, 99, "할인율은 1~99 사이의 정수여야 합니다.", "must be an integer from 1 to 99"});
  if (!pct) return pct.error();
  return static_cast<int>(*pct);
}

std::string hh_mm(const std::string& time) {
  return time.substr(0, 5);
}

Error invalid_departure_airport() {
  return {400, "invalid_airport", "출발 공항 코드가 유효하지 않습니다.",
          "Unknown departure airport code."};
}
Error invalid_arrival_airport() {
  return {400, "invalid_airport", "도착 공항 코드가 유효하지 않습니다.",
          "Unknown arrival airport code."};
}
Error flight_exists() {
  return {409, "flight_exists", "이미 존재하는 항공편 번호입니다.",
          "This flight id already exists."};
}
Error flight_not_found() {
  return {404, "flight_not_found", "항공편을 찾을 수 없습니다.", "Flight not found."};
}
Error schedule_not_found() {
  return {404, "schedule_not_found", "항공편 스케줄을 찾을 수 없습니다.", "Schedule not found."};
}
Error discount_exists() {
  return {409, "discount_exists", "해당 스케줄에 이미 할인이 설정되어 있습니다.",
          "This schedule already has an active discount."};
}
Error discount_not_found() {
  return {404, "discount_not_found", "할인을 찾을 수 없습니다.", "Discount not found."};
}
Error empty_search_term() {
  return {400, "missing_field", "검색어를 입력해주세요.", "Please enter a search term."};
}
Error seats_below_sold(const std::string& date, long long sold, long long seats) {
  const std::string n = std::to_string(sold);
  const std::string want = std::to_string(seats);
  return {409, "seats_sold",
          date + " 스케줄에 이미 " + n + "명이 예약되어 있어 좌석 수를 " + want +
              "석으로 줄일 수 없습니다.",
          "The schedule of " + date + " already has " + n +
              " passengers booked; its seats cannot be lowered to " + want + "."};
}
Error assigned_seat_outside(const std::string& date, const std::string& seat, long long seats) {
  const std::string want = std::to_string(seats);
  return {409, "seats_sold",
          date + " 스케줄의 좌석 " + seat + "이(가) 이미 배정되어 있어 좌석 수를 " + want +
              "석으로 줄일 수 없습니다.",
          "Seat " + seat + " of the schedule of " + date +
              " is already assigned and would not exist with " + want + " seats."};
}

}  // namespace cj::admin

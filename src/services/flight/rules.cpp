#include "services/flight/rules.hpp"

#include <algorithm>

#include "core/errors.hpp"
#include "core/local_time.hpp"
#include "core/log.hpp"

namespace cj::flight {

std::optional<int> parse_time_of_day(std::string_view t) {
  if (t.size() != 5 && t.size() != 8) return std::nullopt;
  auto two = [&](std::size_t at) -> int {
    if (t[at] < '0' || t[at] > '9' || t[at + 1] < '0' || t[at + 1] > '9') return -1;
    return (t[at] - '0') * 10 + (t[at + 1] - '0');
  };
  if (t[2] != ':') return std::nullopt;
  const int h = two(0);
  const int m = two(3);
  if (h < 0 || h > 23 || m < 0 || m > 59) return std::nullopt;
  if (t.size() == 8) {
    const int s = two(6);
    if (t[5] != ':' || s < 0 || s > 59) return std::nullopt;
  }
  return h * 60 + m;
}

std::string duration_text(int departure_minutes, int arrival_minutes) {
  int minutes = arrival_minutes - departure_minutes;
  if (minutes <= 0) minutes += 24 * 60;
  return std::to_string(minutes / 60) + "시간 " + std::to_string(minutes % 60) + "분";
}

Result<std::int64_t> departure_instant(std::string_view flight_date,
                                       std::string_view departure_time, std::string_view zone) {
  auto at = local_time::to_instant(flight_date, departure_time, zone);
  if (at) return at;
  // The details go to the log, not to the client: it is the catalogue that is broken.
  log::error("cannot place a departure in time", {{"flight_date", flight_date},
                                                  {"departure_time", departure_time},
                                                  {"time_zone", zone},
                                                  {"error", at.error().message_en}});
  return errors::internal();
}

Sales sales_state(std::int64_t departure, std::int64_t now, int cutoff_seconds) {
  if (departure <= now) return Sales::Departed;
  if (departure - now <= cutoff_seconds) return Sales::Closed;
  return Sales::Open;
}

int bounded_ttl(int ttl_seconds, std::int64_t now, std::optional<std::int64_t> closes_at) {
  if (!closes_at) return ttl_seconds;
  // `now` is whole seconds (the current second may be nearly over) and the cache counts from
  // when it stores: one second less guarantees the entry is gone before `closes_at`.
  const std::int64_t left = *closes_at - now - 1;
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, ttl_seconds));
}

}  // namespace cj::flight

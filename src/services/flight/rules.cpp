#include "services/flight/rules.hpp"

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

}  // namespace cj::flight

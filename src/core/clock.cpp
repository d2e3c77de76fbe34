#include "core/clock.hpp"

#include <chrono>
#include <cstdio>

namespace cj::clock {

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string add_days(const std::string& date, int days) {
  const int y = std::stoi(date.substr(0, 4));
  const auto m = static_cast<unsigned>(std::stoi(date.substr(5, 2)));
  const auto d = static_cast<unsigned>(std::stoi(date.substr(8, 2)));
  const std::chrono::sys_days day =
      std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  const std::chrono::year_month_day out{day + std::chrono::days(days)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(out.year()),
                static_cast<unsigned>(out.month()), static_cast<unsigned>(out.day()));
  return buf;
}

std::string iso_timestamp(std::string db_value) {
  if (db_value.size() > 10 && db_value[10] == ' ') db_value[10] = 'T';
  return db_value.substr(0, 19);
}

}  // namespace cj::clock

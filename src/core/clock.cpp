#include "core/clock.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>

namespace cj::clock {
namespace {

// Fake minus system time, in seconds; 0 for the system clock. Atomic because the HTTP threads
// read it, although it only changes before they start (and in unit tests).
std::atomic<std::int64_t> g_offset{0};
std::atomic<bool> g_fake{false};

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_date(const std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

}  // namespace

std::int64_t now_unix() {
  return system_now() + g_offset.load(std::memory_order_relaxed);
}

void start_at(std::int64_t unix_seconds) {
  g_offset.store(unix_seconds - system_now(), std::memory_order_relaxed);
  g_fake.store(true, std::memory_order_relaxed);
}

void use_system_clock() {
  g_offset.store(0, std::memory_order_relaxed);
  g_fake.store(false, std::memory_order_relaxed);
}

bool is_fake() {
  return g_fake.load(std::memory_order_relaxed);
}

std::string utc_date(std::int64_t unix_seconds) {
  return format_date(std::chrono::floor<std::chrono::days>(
      std::chrono::sys_seconds{std::chrono::seconds(unix_seconds)}));
}

std::string today_utc() {
  return utc_date(now_unix());
}

std::string add_days(const std::string& date, int days) {
  const int y = std::stoi(date.substr(0, 4));
  const auto m = static_cast<unsigned>(std::stoi(date.substr(5, 2)));
  const auto d = static_cast<unsigned>(std::stoi(date.substr(8, 2)));
  const std::chrono::sys_days day =
      std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  return format_date(day + std::chrono::days(days));
}

std::string db_timestamp(std::int64_t unix_seconds) {
  const std::chrono::sys_seconds t{std::chrono::seconds(unix_seconds)};
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::hh_mm_ss<std::chrono::seconds> hms{t - day};
  char buf[16];
  std::snprintf(buf, sizeof buf, " %02d:%02d:%02d", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return format_date(day) + buf;
}

std::string db_now() {
  return db_timestamp(now_unix());
}

std::string iso_timestamp(std::string db_value) {
  if (db_value.size() > 10 && db_value[10] == ' ') db_value[10] = 'T';
  db_value = db_value.substr(0, 19);
  // Only a full date-time is an instant; anything else (never written by CloudJet) stays as it is.
  if (db_value.size() == 19) db_value += 'Z';
  return db_value;
}

}  // namespace cj::clock

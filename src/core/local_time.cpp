#include "core/local_time.hpp"

#include <date/tz.h>

#include <chrono>
#include <cstdio>

namespace cj::local_time {
namespace {

using std::chrono::seconds;

Error time_error(const std::string& text) {
  return Error{500, "internal_error", "서버 내부 오류가 발생했습니다.", text};
}

// The decimal number in text[at, at + n), or -1 when any of it is not a digit.
int digits(std::string_view text, std::size_t at, std::size_t n) {
  if (at + n > text.size()) return -1;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

std::optional<date::year_month_day> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const int y = digits(text, 0, 4);
  const int m = digits(text, 5, 2);
  const int d = digits(text, 8, 2);
  if (y < 0 || m < 0 || d < 0) return std::nullopt;
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

// "HH:MM" or "HH:MM:SS" → seconds since midnight.
std::optional<seconds> parse_time(std::string_view text) {
  if ((text.size() != 5 && text.size() != 8) || text[2] != ':') return std::nullopt;
  const int h = digits(text, 0, 2);
  const int m = digits(text, 3, 2);
  int s = 0;
  if (text.size() == 8) {
    if (text[5] != ':') return std::nullopt;
    s = digits(text, 6, 2);
  }
  if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59) return std::nullopt;
  return seconds(h * 3600 + m * 60 + s);
}

// locate_zone throws for unknown names (and when the database cannot be read at all).
const date::time_zone* find_zone(std::string_view zone) {
  try {
    return date::locate_zone(zone);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

bool is_known_zone(std::string_view zone) {
  return !zone.empty() && find_zone(zone) != nullptr;
}

Status check_tz_database() {
  try {
    (void)date::locate_zone("Asia/Seoul");
    return ok_status();
  } catch (const std::exception& e) {
    const std::string text = std::string(
                                 "cannot read the system time-zone database (install the "
                                 "tzdata package, /usr/share/zoneinfo): ") +
                             e.what();
    return Error{0, "config", text, text};
  }
}

Result<std::int64_t> to_instant(std::string_view date_text, std::string_view time_of_day,
                                std::string_view zone) {
  const auto ymd = parse_date(date_text);
  if (!ymd) return time_error("not a date: '" + std::string(date_text) + "'");
  const auto tod = parse_time(time_of_day);
  if (!tod) return time_error("not a time of day: '" + std::string(time_of_day) + "'");
  const auto* tz = find_zone(zone);
  if (tz == nullptr) return time_error("unknown time zone '" + std::string(zone) + "'");
  const date::local_seconds wall = date::local_days{*ymd} + *tod;
  // For a unique wall time `first` is the only offset; for an ambiguous one it is the offset of
  // the first occurrence; for a nonexistent one it is the offset before the change (see header).
  const date::local_info info = tz->get_info(wall);
  const date::sys_seconds instant{wall.time_since_epoch() - info.first.offset};
  return static_cast<std::int64_t>(instant.time_since_epoch().count());
}

Result<std::string> format_in_zone(std::int64_t unix_seconds, std::string_view zone) {
  const auto* tz = find_zone(zone);
  if (tz == nullptr) return time_error("unknown time zone '" + std::string(zone) + "'");
  const date::sys_seconds instant{seconds(unix_seconds)};
  const date::sys_info info = tz->get_info(instant);
  const date::local_seconds wall{instant.time_since_epoch() + info.offset};
  const auto day = date::floor<date::days>(wall);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<seconds> hms{wall - day};
  const long long off = info.offset.count();
  const long long off_abs = off < 0 ? -off : off;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld%c%02lld:%02lld",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long long>(hms.hours().count()),
                static_cast<long long>(hms.minutes().count()),
                static_cast<long long>(hms.seconds().count()), off < 0 ? '-' : '+', off_abs / 3600,
                off_abs % 3600 / 60);
  return std::string(buf);
}

std::optional<std::int64_t> parse_instant(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then optional .fraction, then Z or ±HH:MM (or ±HHMM).
  if (text.size() < 20) return std::nullopt;
  const auto ymd = parse_date(text.substr(0, 10));
  if (!ymd || (text[10] != 'T' && text[10] != 't' && text[10] != ' ')) return std::nullopt;
  const auto tod = parse_time(text.substr(11, 8));
  if (!tod) return std::nullopt;
  std::size_t at = 19;
  if (text[at] == '.' || text[at] == ',') {
    ++at;
    const std::size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == start) return std::nullopt;
  }
  seconds offset{0};
  const std::string_view zone = text.substr(at);
  if (zone == "Z" || zone == "z") {
    // UTC
  } else if (!zone.empty() && (zone[0] == '+' || zone[0] == '-')) {
    int h = -1;
    int m = -1;
    if (zone.size() == 6 && zone[3] == ':') {
      h = digits(zone, 1, 2);
      m = digits(zone, 4, 2);
    } else if (zone.size() == 5) {
      h = digits(zone, 1, 2);
      m = digits(zone, 3, 2);
    }
    if (h < 0 || h > 23 || m < 0 || m > 59) return std::nullopt;
    offset = seconds((h * 3600 + m * 60) * (zone[0] == '-' ? -1 : 1));
  } else {
    return std::nullopt;
  }
  const date::sys_seconds local_as_utc = date::sys_days{*ymd} + *tod;
  return static_cast<std::int64_t>((local_as_utc - offset).time_since_epoch().count());
}

std::string format_utc(std::int64_t unix_seconds) {
  const date::sys_seconds instant{seconds(unix_seconds)};
  const auto day = date::floor<date::days>(instant);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<seconds> hms{instant - day};
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long long>(hms.hours().count()),
                static_cast<long long>(hms.minutes().count()),
                static_cast<long long>(hms.seconds().count()));
  return buf;
}

}  // namespace cj::local_time

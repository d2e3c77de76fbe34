// Airport-local wall times and instants. A flight leaves at a wall time of its departure
// airport ("06:30 in Asia/Seoul"), while "now" is an instant; this module converts between the two
// with the system's tz database (tzdata) through Howard Hinnant's date/tz, since GCC 12's <chrono>
// has no time-zone database. Pure functions: every instant is a parameter, so the rules built on
// them are tested at any moment without touching a clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace cj::local_time {

// True when `zone` names a zone of the system tz database ("Asia/Seoul", "Australia/Sydney").
bool is_known_zone(std::string_view zone);

// Fails when the tz database cannot be read at all (tzdata missing): checked once at start, so a
// broken image stops with a clear message instead of refusing every booking.
Status check_tz_database();

// The instant (Unix seconds) at which the wall clock in `zone` reads `date` (YYYY-MM-DD) and
// `time_of_day` (HH:MM or HH:MM:SS). Around a DST change the rule is the one Python's zoneinfo and
// java.time use by default: a wall time that occurs twice (clocks going back) is its first
// occurrence, and one that never occurs (clocks going forward) is read with the offset in force
// before the change (02:30 in a 02:00→03:00 gap is 03:30 after it).
Result<std::int64_t> to_instant(std::string_view date, std::string_view time_of_day,
                                std::string_view zone);

// The wall time of `unix_seconds` in `zone` as ISO-8601 with its offset,
// e.g. "2026-04-05T10:00:00+10:00".
Result<std::string> format_in_zone(std::int64_t unix_seconds, std::string_view zone);

// An ISO-8601 instant with an explicit offset: "2026-12-02T00:30:00+09:00", "2026-12-01T15:30:00Z",
// optionally with fractional seconds (dropped) or a space instead of the T. A bare local time is
// refused: without an offset it names no instant.
std::optional<std::int64_t> parse_instant(std::string_view text);

// "2026-12-01T15:30:00Z".
std::string format_utc(std::int64_t unix_seconds);

}  // namespace cj::local_time

// Flight domain rules: pure functions, unit-tested on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace cj::flight {

// Minutes since midnight for "HH:MM" or "HH:MM:SS"; nullopt when malformed.
std::optional<int> parse_time_of_day(std::string_view text);
// "N시간 M분" between departure and arrival; an arrival earlier than (or equal to) the departure
// is on the next day.
std::string duration_text(int departure_minutes, int arrival_minutes);

// A schedule departs at its flight_date and its flight's departure_time on the wall clock of the
// departure airport (`zone`, the airport's IANA time zone). An unknown zone or a malformed value is
// an error (500: the catalogue is broken, nothing can be decided about that schedule).
Result<std::int64_t> departure_instant(std::string_view flight_date,
                                       std::string_view departure_time, std::string_view zone);

// Where a schedule stands at `now`: on sale until `cutoff_seconds` before it departs, then closed,
// then departed (departure <= now).
enum class Sales { Open, Closed, Departed };
Sales sales_state(std::int64_t departure, std::int64_t now, int cutoff_seconds);

// How long a cached list may be served: its configured TTL, but never past `closes_at`, the
// earliest instant at which one of its rows leaves sale (nullopt: no row does). 0: do not cache.
int bounded_ttl(int ttl_seconds, std::int64_t now, std::optional<std::int64_t> closes_at);

}  // namespace cj::flight

// Flight domain rules: pure functions, unit-tested on their own.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cj::flight {

// Minutes since midnight for "HH:MM" or "HH:MM:SS"; nullopt when malformed.
std::optional<int> parse_time_of_day(std::string_view text);
// "N시간 M분" between departure and arrival; an arrival earlier than (or equal to) the departure
// is on the next day.
std::string duration_text(int departure_minutes, int arrival_minutes);

}  // namespace cj::flight

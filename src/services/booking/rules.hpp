// Booking domain rules: pure functions, unit-tested on their own.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"

namespace cj::booking {

// The aircraft's seat map, derived from its seat count: six abreast (A–F) for 60 seats or more,
// four abreast (A–D) below; rows numbered from 1; the last row may be partial.
struct SeatMap {
  int rows = 0;
  std::string letters;
  int total = 0;

  [[nodiscard]] bool contains(std::string_view label) const;
};
SeatMap seat_map_for(int total_seats);

// "12A" → (12, 'A'); nullopt when malformed.
std::optional<std::pair<int, char>> parse_seat(std::string_view label);
// Natural order: by row number, then letter ("2A" before "10A").
void sort_seats(std::vector<std::string>& seats);

// Passengers per booking (core/money.hpp: the amount limits are derived from it).
constexpr int kMaxPassengers = money::kMaxPassengers;

// "CJ" + 8 characters of [A-Z0-9] from the CSPRNG.
std::string new_booking_number();

}  // namespace cj::booking

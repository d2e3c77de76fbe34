#include "services/booking/rules.hpp"

#include <algorithm>

#include "core/security.hpp"

namespace cj::booking {

SeatMap seat_map_for(int total_seats) {
  SeatMap m;
  m.total = std::max(0, total_seats);
  m.letters = m.total >= 60 ? "ABCDEF" : "ABCD";
  const int per_row = static_cast<int>(m.letters.size());
  m.rows = (m.total + per_row - 1) / per_row;
  return m;
}

std::optional<std::pair<int, char>> parse_seat(std::string_view label) {
  if (label.size() < 2 || label.size() > 4) return std::nullopt;
  const char letter = label.back();
  if (letter < 'A' || letter > 'Z') return std::nullopt;
  int row = 0;
  for (std::size_t i = 0; i + 1 < label.size(); ++i) {
    if (label[i] < '0' || label[i] > '9') return std::nullopt;
    row = row * 10 + (label[i] - '0');
  }
  if (label[0] == '0' || row <= 0) return std::nullopt;
  return std::pair{row, letter};
}

bool SeatMap::contains(std::string_view label) const {
  auto seat = parse_seat(label);
  if (!seat) return false;
  const auto col = letters.find(seat->second);
  if (col == std::string::npos || seat->first > rows) return false;
  const int index = (seat->first - 1) * static_cast<int>(letters.size()) + static_cast<int>(col);
  return index < total;
}

void sort_seats(std::vector<std::string>& seats) {
  std::sort(seats.begin(), seats.end(), [](const std::string& a, const std::string& b) {
    auto pa = parse_seat(a);
    auto pb = parse_seat(b);
    if (pa && pb) return *pa < *pb;
    if (pa.has_value() != pb.has_value()) return pa.has_value();
    return a < b;
  });
}

std::string new_booking_number() {
  return "CJ" + security::random_string(8, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
}

}  // namespace cj::booking

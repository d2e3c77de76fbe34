// Booking's pure rules (services/booking/rules.hpp): seat maps and booking numbers.
#include "services/booking/rules.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

TEST(SeatMap, DerivesRowsAndLettersFromTotalSeats) {
  auto m = cj::booking::seat_map_for(180);
  EXPECT_EQ(m.rows, 30);
  EXPECT_EQ(m.letters, "ABCDEF");
  EXPECT_TRUE(m.contains("1A"));
  EXPECT_TRUE(m.contains("30F"));
  EXPECT_FALSE(m.contains("31A"));
  EXPECT_FALSE(m.contains("12G"));
  EXPECT_FALSE(m.contains("0A"));
  EXPECT_FALSE(m.contains("012A"));
  EXPECT_FALSE(m.contains("A12"));
  auto partial = cj::booking::seat_map_for(62);  // 11 rows, the last with two seats
  EXPECT_EQ(partial.rows, 11);
  EXPECT_TRUE(partial.contains("11B"));
  EXPECT_FALSE(partial.contains("11C"));
  auto small = cj::booking::seat_map_for(40);
  EXPECT_EQ(small.letters, "ABCD");
  EXPECT_EQ(small.rows, 10);
}

TEST(SeatMap, SortsSeatsNaturally) {
  std::vector<std::string> seats{"10A", "2B", "2A", "1F"};
  cj::booking::sort_seats(seats);
  EXPECT_EQ(seats, (std::vector<std::string>{"1F", "2A", "2B", "10A"}));
}

TEST(BookingNumber, IsCjPlusEightUppercaseAlphanumerics) {
  for (int i = 0; i < 100; ++i) {
    const auto n = cj::booking::new_booking_number();
    ASSERT_EQ(n.size(), 10U);
    EXPECT_EQ(n.substr(0, 2), "CJ");
    for (char c : n.substr(2)) EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  }
}

}  // namespace

// The flight catalogue's pure rules: durations (services/flight/rules.hpp) and discounted prices
// (services/flight/model.hpp).
#include "services/flight/rules.hpp"

#include <gtest/gtest.h>

#include "services/flight/model.hpp"

namespace {

TEST(FlightRules, DurationHandlesOvernightArrivals) {
  using cj::flight::duration_text;
  using cj::flight::parse_time_of_day;
  EXPECT_EQ(duration_text(*parse_time_of_day("06:30"), *parse_time_of_day("09:15")), "2시간 45분");
  EXPECT_EQ(duration_text(*parse_time_of_day("11:00:00"), *parse_time_of_day("06:30:00")),
            "19시간 30분");
  EXPECT_EQ(duration_text(*parse_time_of_day("23:50"), *parse_time_of_day("00:20")), "0시간 30분");
  EXPECT_FALSE(parse_time_of_day("24:00").has_value());
  EXPECT_FALSE(parse_time_of_day("9:15").has_value());
}

TEST(Price, DiscountRoundsHalfUpInIntegers) {
  EXPECT_EQ(cj::flight::discounted_price(100050, 10), 90045);
  EXPECT_EQ(cj::flight::discounted_price(333333, 15), 283333);  // 283333.05
  EXPECT_EQ(cj::flight::discounted_price(10, 15), 9);           // 8.5 → 9
  EXPECT_EQ(cj::flight::discounted_price(320000, 0), 320000);
}

}  // namespace

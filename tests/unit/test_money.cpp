#include <gtest/gtest.h>

#include <limits>

#include "core/money.hpp"
#include "services/admin/model.hpp"
#include "services/booking/model.hpp"
#include "services/booking/rules.hpp"
#include "services/payment/model.hpp"

namespace {

using nlohmann::json;

TEST(Money, OneLimitSetDerivedFromFareAndPassengers) {
  EXPECT_EQ(cj::money::kMaxFare, 100000000);
  EXPECT_EQ(cj::money::kMaxPassengers, 9);
  EXPECT_EQ(cj::money::kMaxBookingAmount, 900000000);
  EXPECT_EQ(cj::booking::kMaxPassengers, cj::money::kMaxPassengers);
  EXPECT_EQ(cj::payment::kMaxAmount, cj::money::kMaxBookingAmount);
}

TEST(Money, GroupedPrintsThousandsSeparators) {
  EXPECT_EQ(cj::money::grouped(0), "0");
  EXPECT_EQ(cj::money::grouped(999), "999");
  EXPECT_EQ(cj::money::grouped(1000), "1,000");
  EXPECT_EQ(cj::money::grouped(900000000), "900,000,000");
  EXPECT_EQ(cj::money::grouped(-1234567), "-1,234,567");
  EXPECT_EQ(cj::money::grouped(std::numeric_limits<long long>::min()),
            "-9,223,372,036,854,775,808");
}

json flight_with_price(long long price) {
  return {{"flight_id", "CJ1"},        {"departure_airport", "ICN"}, {"arrival_airport", "NRT"},
          {"departure_time", "08:00"}, {"arrival_time", "10:00"},    {"aircraft", "A321"},
          {"base_price", price}};
}

TEST(Money, AdminFaresUpToTheFareCap) {
  EXPECT_TRUE(cj::admin::parse_flight(flight_with_price(cj::money::kMaxFare)).ok());
  EXPECT_FALSE(cj::admin::parse_flight(flight_with_price(cj::money::kMaxFare + 1)).ok());
  json spec{{"mode", "single"}, {"date", "2999-01-01"}, {"current_price", cj::money::kMaxFare}};
  EXPECT_TRUE(cj::admin::parse_schedule_spec(spec).ok());
  spec["current_price"] = cj::money::kMaxFare + 1;
  EXPECT_FALSE(cj::admin::parse_schedule_spec(spec).ok());
}

json booking_with_amount(long long amount) {
  json passengers = json::array();
  for (int i = 0; i < cj::money::kMaxPassengers; ++i) {
    passengers.push_back({{"name", "홍길동"}, {"birth", "1990-01-01"}, {"gender", "M"}});
  }
  return {{"scheduleId", 1},
          {"passengers", passengers},
          {"contactInfo", {{"email", "a@example.com"}, {"phone", "010-1234-5678"}}},
          {"totalAmount", amount}};
}

TEST(Money, BookingTotalUpToTheLargestPayableAmount) {
  auto ok = cj::booking::parse_new_booking(booking_with_amount(cj::money::kMaxBookingAmount));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->total_amount, 900000000);
  auto over = cj::booking::parse_new_booking(booking_with_amount(cj::money::kMaxBookingAmount + 1));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().status, 400);
  EXPECT_EQ(over.error().message, "totalAmount: 0 이상 900,000,000 이하의 정수여야 합니다.");
  EXPECT_EQ(over.error().message_en, "totalAmount: must be an integer from 0 to 900,000,000");
}

}  // namespace

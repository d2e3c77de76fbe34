// The promise the invalidator keeps, end to end through two real services: a cached flight search
// is served from the cache until a booking changes it, and then shows the booking's seat gone.
#include "services/flight/routes.hpp"

#include <gtest/gtest.h>

#include "services/booking/routes.hpp"
#include "support/handler_env.hpp"

namespace {

class FlightRoutesTest : public cj::testing::HandlerEnv {
 protected:
  void SetUp() override {
    HandlerEnv::SetUp();
    flights_ = cj::flight::make_service({*db_, config_, *catalog_, *reference_});
    bookings_ = cj::booking::make_service(
        {*db_, config_, authenticator_, *catalog_, *invalidator_, refunds_});
  }

  nlohmann::json search() {
    cj::http::Request rq;
    rq.query = {{"departure", "ICN"}, {"arrival", "NRT"}, {"date", cj::testing::kFlightDate}};
    auto r = call(flights_, "GET", "/api/flights/search", rq);
    EXPECT_EQ(r.status, 200) << r.body;
    return json_of(r);
  }

  cj::http::Service flights_;
  cj::http::Service bookings_;
};

TEST_F(FlightRoutesTest, ASearchIsCachedUntilABookingChangesWhatItReturns) {
  auto first = search();
  ASSERT_EQ(first["total"], 1);
  EXPECT_EQ(first["flights"][0]["available_seats"], 180);
  EXPECT_EQ(first["flights"][0]["flight_id"], "CJ100");
  const int hits = catalog_log_->hits;
  EXPECT_EQ(search(), first);
  EXPECT_EQ(catalog_log_->hits, hits + 1);  // the second answer came from the cache

  auto booked = call(bookings_, "POST", "/api/bookings", authed(1, "USER", booking_body("6F")));
  ASSERT_EQ(booked.status, 201) << booked.body;
  EXPECT_EQ(search()["flights"][0]["available_seats"], 179);
}

TEST_F(FlightRoutesTest, AnInvalidSearchIs400) {
  cj::http::Request rq;
  rq.query = {{"departure", "ICN"}, {"arrival", "NRT"}, {"date", "2030-02-30"}};
  auto r = call(flights_, "GET", "/api/flights/search", rq);
  EXPECT_EQ(r.status, 400) << r.body;
}

}  // namespace

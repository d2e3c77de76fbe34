// The booking service's handlers driven through http::Request → http::Response on a real
// (temporary, migrated) SQLite database, with the catalogue cache and the refunds faked: bodies,
// rows, and the cache entries and refunds each write leaves behind.
#include "services/booking/routes.hpp"

#include <gtest/gtest.h>

#include "support/handler_env.hpp"

namespace {

using cj::flight::CatalogCache;
using cj::testing::kFlightDate;

class BookingRoutesTest : public cj::testing::HandlerEnv {
 protected:
  void SetUp() override {
    HandlerEnv::SetUp();
    service_ = cj::booking::make_service(
        {*db_, config_, authenticator_, *catalog_, *invalidator_, refunds_});
  }

  cj::http::Response book(const std::string& seat, const std::string& idempotency_key = "") {
    auto rq = authed(1, "USER", booking_body(seat));
    if (!idempotency_key.empty()) rq.headers.emplace_back("idempotency-key", idempotency_key);
    return call(service_, "POST", "/api/bookings", rq);
  }

  const std::string search_group_ = CatalogCache::search_group("ICN", "NRT", kFlightDate);
  const std::string seats_group_ = CatalogCache::seats_group(1);
  cj::http::Service service_;
};

TEST_F(BookingRoutesTest, ACreatedBookingIsStoredAndDropsTheSearchAndSeatCachesOfItsSchedule) {
  auto r = book("12A");
  ASSERT_EQ(r.status, 201) << r.body;
  auto body = json_of(r);
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["status"], "CONFIRMED");
  EXPECT_EQ(body["booking_number"].get<std::string>().substr(0, 2), "CJ");

  EXPECT_EQ(scalar("SELECT COUNT(*) FROM bookings WHERE status = 'CONFIRMED'"), 1);
  EXPECT_EQ(scalar("SELECT available_seats FROM flight_schedules WHERE schedule_id = 1"), 179);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM seat_assignments WHERE schedule_id = 1"), 1);

  EXPECT_TRUE(invalidated(search_group_));
  EXPECT_TRUE(invalidated(seats_group_));
  EXPECT_TRUE(invalidated(CatalogCache::kFeaturedGroup));
}

TEST_F(BookingRoutesTest, AnIdempotentReplayAnswersTheSameBookingAndInvalidatesNothing) {
  auto first = book("3C", "key-1");
  ASSERT_EQ(first.status, 201) << first.body;
  catalog_log_->invalidated.clear();

  auto again = book("3C", "key-1");
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(json_of(again)["booking_number"], json_of(first)["booking_number"]);
  bool replayed = false;
  for (const auto& [name, value] : again.headers) {
    replayed |= name == "Idempotent-Replayed" && value == "true";
  }
  EXPECT_TRUE(replayed);
  EXPECT_TRUE(catalog_log_->invalidated.empty());
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM bookings"), 1);
}

TEST_F(BookingRoutesTest, ATakenSeatIs409AndChangesNoRowAndNoCache) {
  ASSERT_EQ(book("5B").status, 201);
  catalog_log_->invalidated.clear();
  auto r = book("5B");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(json_of(r)["error"], "seat_taken");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM bookings"), 1);
  EXPECT_TRUE(catalog_log_->invalidated.empty());
}

TEST_F(BookingRoutesTest, ACancelReturnsTheSeatsDropsTheCachesAndSendsTheRefundsItQueued) {
  auto created = book("7D");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string number = json_of(created)["booking_number"];
  catalog_log_->invalidated.clear();
  refunds_.refunds_per_booking = 1;  // as if the booking had a captured payment

  auto rq = authed(1, "USER");
  rq.params.emplace_back("booking_number", number);
  auto r = call(service_, "POST", "/api/bookings/:booking_number/cancel", rq);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r)["booking_number"], number);

  EXPECT_EQ(scalar("SELECT COUNT(*) FROM bookings WHERE status = 'CANCELLED'"), 1);
  EXPECT_EQ(scalar("SELECT available_seats FROM flight_schedules WHERE schedule_id = 1"), 180);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM seat_assignments"), 0);
  EXPECT_TRUE(invalidated(search_group_));
  EXPECT_TRUE(invalidated(seats_group_));
  ASSERT_EQ(refunds_.queued.size(), 1U);
  EXPECT_EQ(refunds_.queued[0].reason, "customer cancelled");
  EXPECT_EQ(refunds_.sends, 1);
  EXPECT_EQ(refunds_.sent, 1);
}

TEST_F(BookingRoutesTest, ACancelWithNothingCapturedSendsNoRefund) {
  auto created = book("8A");
  ASSERT_EQ(created.status, 201);
  auto rq = authed(1, "USER");
  rq.params.emplace_back("booking_number", json_of(created)["booking_number"].get<std::string>());
  ASSERT_EQ(call(service_, "POST", "/api/bookings/:booking_number/cancel", rq).status, 200);
  EXPECT_EQ(refunds_.queued.size(), 1U);  // asked, inside the transaction
  EXPECT_EQ(refunds_.sends, 0);           // nothing was queued, so nothing to send
}

TEST_F(BookingRoutesTest, AnotherUsersBookingCannotBeCancelled) {
  auto created = book("9A");
  ASSERT_EQ(created.status, 201);
  auto rq = authed(2, "ADMIN");
  rq.params.emplace_back("booking_number", json_of(created)["booking_number"].get<std::string>());
  auto r = call(service_, "POST", "/api/bookings/:booking_number/cancel", rq);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM bookings WHERE status = 'CONFIRMED'"), 1);
  EXPECT_TRUE(refunds_.queued.empty());
}

TEST_F(BookingRoutesTest, OccupiedSeatsAreLoadedOnceAndServedFromTheCacheUntilABookingChangesThem) {
  cj::http::Request rq;
  rq.params.emplace_back("schedule_id", "1");
  auto empty = call(service_, "GET", "/api/bookings/occupied-seats/:schedule_id", rq);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(json_of(empty)["occupied_seats"], nlohmann::json::array());
  const int hits = catalog_log_->hits;
  call(service_, "GET", "/api/bookings/occupied-seats/:schedule_id", rq);
  EXPECT_EQ(catalog_log_->hits, hits + 1);

  ASSERT_EQ(book("1A").status, 201);
  auto after = call(service_, "GET", "/api/bookings/occupied-seats/:schedule_id", rq);
  EXPECT_EQ(json_of(after)["occupied_seats"], nlohmann::json::array({"1A"}));
}

TEST_F(BookingRoutesTest, WithoutATokenNothingIsBooked) {
  cj::http::Request rq;
  rq.body = booking_body("2A").dump();
  auto r = call(service_, "POST", "/api/bookings", rq);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM bookings"), 0);
}

}  // namespace

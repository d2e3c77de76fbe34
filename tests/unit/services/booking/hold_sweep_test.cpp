// The hold sweeper's pass with a real store: an expired hold gives its seat back, and its
// release goes through the same after-commit step as a cancel (caches dropped, refunds sent).
#include "services/booking/hold_sweep.hpp"

#include <gtest/gtest.h>

#include "services/booking/routes.hpp"
#include "support/handler_env.hpp"

namespace {

using cj::flight::CatalogCache;

class HoldSweepTest : public cj::testing::HandlerEnv {
 protected:
  void SetUp() override {
    HandlerEnv::SetUp();
    config_.booking_hold_minutes = 15;
    service_ = cj::booking::make_service(
        {*db_, config_, authenticator_, *catalog_, *invalidator_, refunds_});
  }
  int sweep() {
    return cj::booking::sweep_expired_holds(*db_, config_.sales_cutoff_minutes, *invalidator_,
                                            refunds_);
  }
  cj::http::Service service_;
};

TEST_F(HoldSweepTest, AnExpiredHoldIsReleasedOnceAndDropsItsCaches) {
  auto r = call(service_, "POST", "/api/bookings", authed(1, "USER", booking_body("4C")));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json_of(r)["status"], "HELD");
  EXPECT_EQ(sweep(), 0);  // not yet due
  EXPECT_EQ(scalar("SELECT available_seats FROM flight_schedules WHERE schedule_id = 1"), 179);

  catalog_log_->invalidated.clear();
  cj::clock::start_at(cj::testing::kNow + 16 * 60);
  refunds_.refunds_per_booking = 1;  // a payment arrived but the hold was never attached
  EXPECT_EQ(sweep(), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM bookings WHERE status = 'EXPIRED'"), 1);
  EXPECT_EQ(scalar("SELECT available_seats FROM flight_schedules WHERE schedule_id = 1"), 180);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM seat_assignments"), 0);
  EXPECT_TRUE(invalidated(CatalogCache::search_group("ICN", "NRT", cj::testing::kFlightDate)));
  EXPECT_TRUE(invalidated(CatalogCache::seats_group(1)));
  ASSERT_EQ(refunds_.queued.size(), 1U);
  EXPECT_EQ(refunds_.queued[0].reason, "booking hold expired");
  EXPECT_EQ(refunds_.sends, 1);

  EXPECT_EQ(sweep(), 0);  // released exactly once
  EXPECT_EQ(refunds_.sends, 1);
}

}  // namespace

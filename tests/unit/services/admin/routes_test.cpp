// The admin service's write handlers through http::Request → http::Response on a temporary SQLite
// database: each one's rows, its audit record, and exactly the catalogue caches it drops.
#include "services/admin/routes.hpp"

#include <gtest/gtest.h>

#include "services/booking/routes.hpp"
#include "support/handler_env.hpp"

namespace {

using cj::flight::CatalogCache;
using cj::testing::kFlightDate;

class AdminRoutesTest : public cj::testing::HandlerEnv {
 protected:
  void SetUp() override {
    HandlerEnv::SetUp();
    service_ = cj::admin::make_service({*db_, config_, authenticator_, *invalidator_, refunds_});
  }

  cj::http::Response admin(const std::string& method, const std::string& path,
                           const nlohmann::json& body = nullptr, cj::http::Headers params = {}) {
    auto rq = authed(2, "ADMIN", body);
    rq.params = std::move(params);
    return call(service_, method, path, rq);
  }

  const std::string search_group_ = CatalogCache::search_group("ICN", "NRT", kFlightDate);
  cj::http::Service service_;
};

TEST_F(AdminRoutesTest, CreatingAndDeletingADiscountDropsTheSearchOfItsSchedule) {
  auto r = admin("POST", "/api/admin/discounts", {{"schedule_id", 1}, {"discount_percentage", 10}});
  ASSERT_EQ(r.status, 201) << r.body;
  const long long id = json_of(r)["discount_id"];
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM flight_discounts WHERE status = 'ACTIVE'"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM admin_audit WHERE action = 'discount.create'"), 1);
  EXPECT_TRUE(invalidated(search_group_));
  EXPECT_TRUE(invalidated(CatalogCache::kFeaturedGroup));

  catalog_log_->invalidated.clear();
  auto del = admin("DELETE", "/api/admin/discounts/:discount_id", nullptr,
                   {{"discount_id", std::to_string(id)}});
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM flight_discounts WHERE status = 'ACTIVE'"), 0);
  EXPECT_TRUE(invalidated(search_group_));
}

TEST_F(AdminRoutesTest, ARefusedWriteDropsNothing) {
  auto r =
      admin("POST", "/api/admin/discounts", {{"schedule_id", 99}, {"discount_percentage", 10}});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_TRUE(catalog_log_->invalidated.empty());
}

TEST_F(AdminRoutesTest, NewSchedulesDropTheSearchOfEveryFutureDateOfTheFlight) {
  auto r = admin("POST", "/api/admin/flights-with-schedules",
                 {{"flight",
                   {{"flight_id", "CJ100"},
                    {"aircraft", "A321"},
                    {"departure_airport", "ICN"},
                    {"arrival_airport", "NRT"},
                    {"departure_time", "10:00"},
                    {"arrival_time", "12:30"},
                    {"base_price", 100000},
                    {"total_seats", 180}}},
                  {"schedule", {{"mode", "single"}, {"date", "2030-01-21"}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json_of(r)["result"]["created_schedules"], 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM flight_schedules WHERE flight_id = 'CJ100'"), 2);
  EXPECT_TRUE(invalidated(search_group_));
  EXPECT_TRUE(invalidated(CatalogCache::search_group("ICN", "NRT", "2030-01-21")));
}

TEST_F(AdminRoutesTest, DeletingAFlightDropsItsSearchesAndTheFeaturedLists) {
  auto r = admin("DELETE", "/api/admin/flights/:flight_id", nullptr, {{"flight_id", "CJ100"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(scalar("SELECT is_active FROM flights WHERE flight_id = 'CJ100'"), 0);
  EXPECT_TRUE(invalidated(search_group_));
  EXPECT_TRUE(invalidated(CatalogCache::kFeaturedGroup));
}

TEST_F(AdminRoutesTest, CorrectingAnAirportDropsTheAirportsListAndTheFeaturedLists) {
  auto r = admin("PUT", "/api/admin/airports/:airport_code", {{"city", "Incheon"}},
                 {{"airport_code", "ICN"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(reference_log_->invalidated, (std::vector<std::string>{CatalogCache::kAirportsGroup}));
  EXPECT_EQ(catalog_log_->invalidated, (std::vector<std::string>{CatalogCache::kFeaturedGroup}));
}

TEST_F(AdminRoutesTest, AnAdminCancelIsAuditedReturnsTheSeatsAndSendsTheRefund) {
  auto bookings = cj::booking::make_service(
      {*db_, config_, authenticator_, *catalog_, *invalidator_, refunds_});
  auto rq =
      authed(1, "USER",
             {{"scheduleId", 1},
              {"passengers", {{{"name", "김철수"}, {"birth", "1985-05-05"}, {"gender", "M"}}}},
              {"contactInfo", {{"email", "u@x.com"}, {"phone", "010-1234-5678"}}},
              {"totalAmount", cj::testing::kFare}});
  auto created = call(bookings, "POST", "/api/bookings", rq);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string number = json_of(created)["booking_number"];
  catalog_log_->invalidated.clear();
  refunds_.refunds_per_booking = 1;

  auto r = admin("PUT", "/api/admin/bookings/:booking_number/cancel", nullptr,
                 {{"booking_number", number}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM bookings WHERE status = 'CANCELLED'"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM admin_audit WHERE action = 'booking.cancel'"), 1);
  EXPECT_EQ(scalar("SELECT available_seats FROM flight_schedules WHERE schedule_id = 1"), 180);
  EXPECT_TRUE(invalidated(search_group_));
  EXPECT_TRUE(invalidated(CatalogCache::seats_group(1)));
  ASSERT_EQ(refunds_.queued.size(), 1U);
  EXPECT_EQ(refunds_.queued[0].reason, "cancelled by admin");
  EXPECT_EQ(refunds_.sends, 1);
}

TEST_F(AdminRoutesTest, AUserTokenIsRefusedAndChangesNothing) {
  auto rq = authed(1, "USER", {{"schedule_id", 1}, {"discount_percentage", 10}});
  auto r = call(service_, "POST", "/api/admin/discounts", rq);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM flight_discounts"), 0);
  EXPECT_TRUE(catalog_log_->invalidated.empty());
}

}  // namespace

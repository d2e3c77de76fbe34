// What a handler test needs around a real service: a migrated SQLite database in a temporary
// directory, the service clock stood still, the catalogue caches over FakeCache (so a test sees
// every invalidation), FakeRefunds, an Authenticator and tokens, and calling a route of an
// http::Service by method and path template with a filled-in http::Request.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/migrations.hpp"
#include "core/security.hpp"
#include "fakes/fake_cache.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/fake_refunds.hpp"
#include "http/auth.hpp"
#include "http/types.hpp"
#include "services/auth/store.hpp"
#include "services/flight/catalog_cache.hpp"
#include "services/flight/catalog_invalidator.hpp"

namespace cj::testing {

// 2030-01-10 00:00:00 UTC; the seeded schedule departs ICN 2030-01-20 10:00 KST.
constexpr std::int64_t kNow = 1'894'233'600;
constexpr const char* kFlightDate = "2030-01-20";
constexpr long long kFare = 100000;

class HandlerEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cj-handler-" + security::random_string(12, "abcdefghijklmnopqrstuvwxyz"));
    std::filesystem::create_directories(dir_);
    DbConfig dbc;
    dbc.sqlite_path = (dir_ / "t.db").string();
    dbc.pool_size = 2;
    auto db = db::Db::open(dbc);
    ASSERT_TRUE(db) << db.error().message_en;
    db_ = std::move(*db);
    auto migrated = db::migrate(*db_);
    ASSERT_TRUE(migrated) << migrated.error().message_en;
    seed();

    config_.sales_cutoff_minutes = 30;
    authenticator_.secret = "handler-test-secret";
    authenticator_.max_token_lifetime_seconds = 3600;
    authenticator_.current_role = [db = db_.get()](std::int64_t id) {
      return auth::AuthStore(*db).role_of(id);
    };
    catalog_ = std::make_unique<flight::CatalogCache>(
        std::make_unique<fakes::FakeCache>(catalog_log_), 60);
    reference_ = std::make_unique<flight::CatalogCache>(
        std::make_unique<fakes::FakeCache>(reference_log_), 60);
    invalidator_ = std::make_unique<flight::CacheInvalidator>(*catalog_, *reference_);
  }

  void TearDown() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // One user (id 1), one admin (id 2), flight CJ100 ICN→NRT with one schedule (id 1).
  void seed() {
    auto st = db_->write("test.seed", [](soci::session& s) {
      s << "INSERT INTO users (name, email, password_hash, phone, birth_date) "
           "VALUES ('user', 'u@x.com', 'x', '010-1234-5678', '1990-01-01')";
      s << "INSERT INTO users (name, email, password_hash, phone, birth_date, role) "
           "VALUES ('admin', 'a@x.com', 'x', '010-1234-5679', '1990-01-01', 'ADMIN')";
      s << "INSERT INTO flights (flight_id, departure_airport, arrival_airport, departure_time, "
           "arrival_time, base_price, total_seats) "
           "VALUES ('CJ100', 'ICN', 'NRT', '10:00', '12:30', 100000, 180)";
      const std::string date = kFlightDate;
      s << "INSERT INTO flight_schedules (flight_id, flight_date, current_price, available_seats) "
           "VALUES ('CJ100', :d, 100000, 180)",
          soci::use(date);
      return Unit{};
    });
    ASSERT_TRUE(st) << st.error().message_en;
  }

  long long scalar(const std::string& sql) {
    auto v = db_->run("test.scalar", [&](soci::session& s) {
      long long n = 0;
      s << sql, soci::into(n);
      return n;
    });
    EXPECT_TRUE(v) << v.error().message_en;
    return v ? *v : -1;
  }

  std::string token(std::int64_t user_id, const std::string& role) const {
    return security::sign_jwt({user_id, role, kNow, kNow + 600}, authenticator_.secret);
  }

  // Calls the route `method path` of `service` as the router would have matched it.
  static http::Response call(const http::Service& service, const std::string& method,
                             const std::string& path, http::Request rq) {
    for (const auto& r : service.routes) {
      if (r.method == method && r.path == path) {
        rq.method = method;
        rq.route = path;
        if (rq.request_id.empty()) rq.request_id = "test-request";
        return r.handler(rq);
      }
    }
    ADD_FAILURE() << "no route " << method << " " << path;
    return {};
  }

  http::Request authed(std::int64_t user_id, const std::string& role,
                       const nlohmann::json& body = nullptr) const {
    http::Request rq;
    rq.headers.emplace_back("authorization", "Bearer " + token(user_id, role));
    if (!body.is_null()) {
      rq.headers.emplace_back("content-type", "application/json");
      rq.body = body.dump();
    }
    return rq;
  }

  // A valid booking of schedule 1 for one passenger at the fare (user 1).
  static nlohmann::json booking_body(const std::string& seat) {
    return {{"scheduleId", 1},
            {"passengers", {{{"name", "홍길동"}, {"birth", "1990-01-01"}, {"gender", "M"}}}},
            {"seats", {seat}},
            {"contactInfo", {{"email", "u@x.com"}, {"phone", "010-1234-5678"}}},
            {"totalAmount", kFare}};
  }

  static nlohmann::json json_of(const http::Response& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  bool invalidated(const std::string& group) const {
    for (const auto& g : catalog_log_->invalidated) {
      if (g == group) return true;
    }
    return false;
  }

  fakes::FakeClock clock_{kNow};
  std::filesystem::path dir_;
  std::unique_ptr<db::Db> db_;
  Config config_;
  http::Authenticator authenticator_;
  std::shared_ptr<fakes::FakeCache::Log> catalog_log_ = std::make_shared<fakes::FakeCache::Log>();
  std::shared_ptr<fakes::FakeCache::Log> reference_log_ = std::make_shared<fakes::FakeCache::Log>();
  std::unique_ptr<flight::CatalogCache> catalog_;
  std::unique_ptr<flight::CatalogCache> reference_;
  std::unique_ptr<flight::CatalogInvalidator> invalidator_;
  fakes::FakeRefunds refunds_;
};

}  // namespace cj::testing

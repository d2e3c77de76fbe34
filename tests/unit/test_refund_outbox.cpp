// RefundOutbox on a real (temporary) SQLite database: who may claim a row when, and that every
// mark holds only for the claim's own token.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/db.hpp"
#include "core/migrations.hpp"
#include "core/security.hpp"
#include "services/payment/refund_outbox.hpp"

namespace {

using cj::payment::Claim;
using cj::payment::ClaimedRefund;
using cj::payment::RefundOutbox;

constexpr long long kNow = 1'800'000'000;
constexpr int kLease = 10;

class RefundOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cj-outbox-" + cj::security::random_string(12, "abcdefghijklmnopqrstuvwxyz"));
    std::filesystem::create_directories(dir_);
    cj::DbConfig config;
    config.sqlite_path = (dir_ / "t.db").string();
    config.pool_size = 2;
    auto db = cj::db::Db::open(config);
    ASSERT_TRUE(db) << db.error().message_en;
    db_ = std::move(*db);
    auto migrated = cj::db::migrate(*db_);
    ASSERT_TRUE(migrated) << migrated.error().message_en;
    auto st = db_->write("test.seed", [](soci::session& s) {
      s << "INSERT INTO users (name, email, password_hash, phone, birth_date) "
           "VALUES ('t', 't@x.com', 'x', '010', '1990-01-01')";
      for (int i = 1; i <= 2; ++i) {
        // Named: soci binds references, and the statement runs at the end of the expression.
        const std::string order = "o" + std::to_string(i);
        const std::string receipt = "r" + std::to_string(i);
        s << "INSERT INTO payments (user_id, amount, status, order_id, bootpay_receipt_id) "
             "VALUES (1, 1000, 'CANCELLED', :o, :r)",
            soci::use(order), soci::use(receipt);
        s << "INSERT INTO refund_outbox (payment_id, receipt_id, cancel_price, reason) "
             "VALUES (:p, :r, 1000, 'test')",
            soci::use(i), soci::use(receipt);
      }
      return cj::Unit{};
    });
    ASSERT_TRUE(st) << st.error().message_en;
  }

  void TearDown() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  ClaimedRefund claim(long long now) {
    auto c = RefundOutbox(*db_).claim_next(now, kLease);
    EXPECT_TRUE(c && *c);
    return c && *c ? **c : ClaimedRefund{};
  }

  std::string status_of(long long outbox_id) {
    auto r = db_->run("test.status", [&](soci::session& s) {
      std::string status;
      s << "SELECT status FROM refund_outbox WHERE outbox_id = :id", soci::into(status),
          soci::use(outbox_id);
      return status;
    });
    return r ? *r : "";
  }

  std::filesystem::path dir_;
  std::unique_ptr<cj::db::Db> db_;
};

TEST_F(RefundOutboxTest, ClaimsOneRowAtATimeOldestFirstWithItsOwnToken) {
  const auto first = claim(kNow);
  const auto second = claim(kNow);
  EXPECT_EQ(first.item.outbox_id, 1);
  EXPECT_EQ(second.item.outbox_id, 2);
  EXPECT_EQ(first.item.receipt_id, "r1");
  EXPECT_EQ(first.token.size(), 32U);
  EXPECT_NE(first.token, second.token);
  // Both held: nothing more is due.
  auto none = RefundOutbox(*db_).claim_next(kNow, kLease);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_F(RefundOutboxTest, AHeldRowIsClaimedAgainOnlyAfterItsLeaseEnds) {
  const auto held = claim(kNow);
  RefundOutbox outbox(*db_);
  ASSERT_EQ(*outbox.complete(claim(kNow)), Claim::Held);  // the other row, out of the way
  auto early = outbox.claim_next(kNow + kLease - 1, kLease);
  ASSERT_TRUE(early);
  EXPECT_FALSE(*early);
  // A renewal moves the end of the lease.
  auto renewed = outbox.renew(held, kNow + 2 * kLease);
  ASSERT_TRUE(renewed);
  EXPECT_EQ(*renewed, Claim::Held);
  auto still = outbox.claim_next(kNow + kLease, kLease);
  ASSERT_TRUE(still);
  EXPECT_FALSE(*still);
  auto taken = outbox.claim_next(kNow + 2 * kLease, kLease);
  ASSERT_TRUE(taken && *taken);
  EXPECT_EQ((*taken)->item.outbox_id, held.item.outbox_id);
  EXPECT_NE((*taken)->token, held.token);

  // The worker that lost it can neither renew nor mark; the new holder can.
  auto renew_lost = outbox.renew(held, kNow + 3 * kLease);
  ASSERT_TRUE(renew_lost);
  EXPECT_EQ(*renew_lost, Claim::Lost);
  for (auto mark :
       {outbox.complete(held), outbox.fail(held, "x"), outbox.retry_later(held, kNow + 99, "x")}) {
    ASSERT_TRUE(mark);
    EXPECT_EQ(*mark, Claim::Lost);
  }
  EXPECT_EQ(status_of(held.item.outbox_id), "SENDING");
  auto done = outbox.complete(**taken);
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, Claim::Held);
  EXPECT_EQ(status_of(held.item.outbox_id), "DONE");
  // A mark happens once: the token is gone with the claim.
  auto again = outbox.complete(**taken);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, Claim::Lost);
}

// MySQL reports such an update as 0 changed rows; renew() must not read that as a lost claim
// (SQLite counts matched rows; the MariaDB side is covered by tests/integration/test_refunds.py).
TEST_F(RefundOutboxTest, RenewingToTheSameLeaseEndStillCountsAsHeld) {
  const auto held = claim(kNow);
  RefundOutbox outbox(*db_);
  auto same = outbox.renew(held, kNow + kLease);  // no change to the row
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, Claim::Held);
}

TEST_F(RefundOutboxTest, RetryIsDueAtItsTimeAndFailedIsNeverDueAgain) {
  RefundOutbox outbox(*db_);
  const auto a = claim(kNow);
  const auto b = claim(kNow);
  ASSERT_EQ(*outbox.retry_later(a, kNow + 5, "503"), Claim::Held);
  ASSERT_EQ(*outbox.fail(b, "400 refused"), Claim::Held);
  EXPECT_EQ(status_of(b.item.outbox_id), "FAILED");

  auto stats = outbox.stats(kNow);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->pending, 1);
  EXPECT_EQ(stats->failed, 1);

  auto early = outbox.claim_next(kNow + 4, kLease);
  ASSERT_TRUE(early);
  EXPECT_FALSE(*early);
  auto due = outbox.claim_next(kNow + 5, kLease);
  ASSERT_TRUE(due && *due);
  EXPECT_EQ((*due)->item.outbox_id, a.item.outbox_id);
  EXPECT_EQ((*due)->item.attempts, 1);
  auto held = outbox.claim_next(kNow + 5 + kLease - 1, kLease);
  ASSERT_TRUE(held);
  EXPECT_FALSE(*held);  // a is held, b is FAILED
  ASSERT_EQ(*outbox.complete(**due), Claim::Held);
  auto never = outbox.claim_next(kNow + 1'000'000, kLease);
  ASSERT_TRUE(never);
  EXPECT_FALSE(*never);  // a is DONE, b is FAILED for good
  stats = outbox.stats(kNow);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->pending, 0);
  EXPECT_EQ(stats->failed, 1);
  EXPECT_EQ(stats->oldest_age_seconds, 0);
}

TEST_F(RefundOutboxTest, CancelIdIsDerivedFromTheRow) {
  EXPECT_EQ(cj::payment::cancel_id_of(42), "cj-refund-42");
}

}  // namespace

// SQLite group commit in cj::db::Db (a real temporary database): units queued while a batch is
// committing go into the next batch together, each in its own savepoint, and a unit that fails
// or throws is undone alone.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/db.hpp"
#include "core/security.hpp"

namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cj-group-" + cj::security::random_string(12, "abcdefghijklmnopqrstuvwxyz"));
    std::filesystem::create_directories(dir_);
    cj::DbConfig config;
    config.sqlite_path = (dir_ / "t.db").string();
    config.pool_size = 4;
    auto db = cj::db::Db::open(config);
    ASSERT_TRUE(db) << db.error().message_en;
    db_ = std::move(*db);
    auto st = db_->write("test.schema", [](soci::session& s) {
      s << "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)";
      return cj::Unit{};
    });
    ASSERT_TRUE(st) << st.error().message_en;
  }

  void TearDown() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  cj::Status insert(int k) {
    return db_->transaction("test.insert", [k](soci::session& s) {
      s << "INSERT INTO t (k, v) VALUES (:k, 'x')", soci::use(k);
      return cj::Unit{};
    });
  }

  long long count(const std::string& where = "1=1") {
    auto n = db_->run("test.count", [&](soci::session& s) {
      long long c = 0;
      s << "SELECT COUNT(*) FROM t WHERE " + where, soci::into(c);
      return c;
    });
    return n ? *n : -1;
  }

  std::filesystem::path dir_;
  std::unique_ptr<cj::db::Db> db_;
};

TEST_F(GroupCommitTest, UnitsQueuedDuringACommitShareTheNextOne) {
  const auto batches_before = db_->batches_committed();
  const auto units_before = db_->units_run();
  std::atomic<bool> inside{false};
  // A slow first unit holds the writer; eight more queue behind it meanwhile.
  std::thread slow([&] {
    auto st = db_->transaction("test.slow", [&](soci::session& s) {
      inside = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      s << "INSERT INTO t (k, v) VALUES (1000, 'slow')";
      return cj::Unit{};
    });
    EXPECT_TRUE(st);
  });
  while (!inside) std::this_thread::yield();
  std::vector<std::thread> rest;
  for (int i = 0; i < 8; ++i) rest.emplace_back([this, i] { EXPECT_TRUE(insert(i)); });
  slow.join();
  for (auto& t : rest) t.join();
  EXPECT_EQ(count(), 9);
  EXPECT_EQ(db_->units_run() - units_before, 9U);
  // The slow unit's batch, then the eight together (at most a few batches, never nine).
  const auto batches = db_->batches_committed() - batches_before;
  EXPECT_GE(batches, 2U);
  EXPECT_LE(batches, 4U);
}

TEST_F(GroupCommitTest, AFailingUnitIsUndoneAloneAndOthersCommit) {
  std::atomic<bool> inside{false};
  std::thread slow([&] {
    auto st = db_->transaction("test.slow", [&](soci::session& s) {
      inside = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      s << "INSERT INTO t (k, v) VALUES (1000, 'slow')";
      return cj::Unit{};
    });
    EXPECT_TRUE(st);
  });
  while (!inside) std::this_thread::yield();
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  std::atomic<int> thrown{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      if (i == 2) {
        // Writes, then answers an error: its row must not survive.
        auto r = db_->transaction("test.refuse", [](soci::session& s) -> cj::Status {
          s << "INSERT INTO t (k, v) VALUES (2002, 'refused')";
          return cj::Error{409, "conflict", "충돌", "conflict"};
        });
        if (!r && r.error().status == 409) ++refused;
      } else if (i == 4) {
        // Writes, then throws (a duplicate key): undone, 500, the batch goes on.
        auto r = db_->transaction("test.throw", [](soci::session& s) {
          s << "INSERT INTO t (k, v) VALUES (2004, 'thrown')";
          s << "INSERT INTO t (k, v) VALUES (1000, 'duplicate')";
          return cj::Unit{};
        });
        if (!r && r.error().status == 500) ++thrown;
      } else {
        EXPECT_TRUE(insert(i));
      }
    });
  }
  slow.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(thrown, 1);
  EXPECT_EQ(count("k IN (2002, 2004)"), 0);
  EXPECT_EQ(count("k < 10"), 4);
  EXPECT_EQ(count("k = 1000"), 1);
}

TEST_F(GroupCommitTest, AnAutocommitWriteKeepsWhatItDidWhenItAnswersAnError) {
  auto r = db_->write("test.write", [](soci::session& s) -> cj::Status {
    s << "INSERT INTO t (k, v) VALUES (7, 'kept')";
    return cj::Error{409, "conflict", "충돌", "conflict"};
  });
  EXPECT_FALSE(r);
  EXPECT_EQ(count("k = 7"), 1);
  // A transaction that answers an error keeps nothing.
  auto t = db_->transaction("test.tx", [](soci::session& s) -> cj::Status {
    s << "INSERT INTO t (k, v) VALUES (8, 'gone')";
    return cj::Error{409, "conflict", "충돌", "conflict"};
  });
  EXPECT_FALSE(t);
  EXPECT_EQ(count("k = 8"), 0);
}

}  // namespace

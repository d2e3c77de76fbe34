// PeriodicWorker: a pass at start, a pass soon after kick(), none after stop(), and nothing at all
// when the interval is 0. Waits are for events (with a generous limit), never for durations.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/periodic_worker.hpp"

namespace {

using namespace std::chrono_literals;

struct PassCounter {
  std::mutex mu;
  std::condition_variable cv;
  int passes = 0;

  void pass() {
    {
      std::lock_guard lock(mu);
      ++passes;
    }
    cv.notify_all();
  }
  bool wait_for_passes(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 30s, [&] { return passes >= n; });
  }
  int count() {
    std::lock_guard lock(mu);
    return passes;
  }
};

TEST(PeriodicWorker, RunsAPassAtStartAndOneMorePerKick) {
  PassCounter c;
  // An interval far longer than the test: every pass after the first comes from a kick.
  cj::PeriodicWorker w("test", std::chrono::seconds(3600), [&] { c.pass(); });
  w.start();
  ASSERT_TRUE(c.wait_for_passes(1));
  w.kick();
  ASSERT_TRUE(c.wait_for_passes(2));
  w.kick();
  ASSERT_TRUE(c.wait_for_passes(3));
  w.stop();
  const int after_stop = c.count();
  w.kick();  // a kick after stop() runs nothing
  w.stop();
  EXPECT_EQ(c.count(), after_stop);
}

TEST(PeriodicWorker, IntervalZeroNeverStarts) {
  std::atomic<int> passes{0};
  cj::PeriodicWorker w("off", std::chrono::seconds(0), [&] { ++passes; });
  w.start();
  w.kick();
  w.stop();
  EXPECT_EQ(passes.load(), 0);
}

TEST(PeriodicWorker, AThrowingPassDoesNotEndTheWorker) {
  PassCounter c;
  cj::PeriodicWorker w("throws", std::chrono::seconds(3600), [&] {
    c.pass();
    throw std::runtime_error("boom");
  });
  w.start();
  ASSERT_TRUE(c.wait_for_passes(1));
  w.kick();
  ASSERT_TRUE(c.wait_for_passes(2));
  w.stop();
}

}  // namespace

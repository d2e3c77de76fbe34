#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "core/work_pool.hpp"

namespace {

using namespace std::chrono_literals;
using cj::WorkPool;

WorkPool::Clock::time_point in(std::chrono::milliseconds d) {
  return WorkPool::Clock::now() + d;
}

// Occupies the pool's only thread until the returned promise is set.
std::shared_ptr<std::promise<void>> block(WorkPool& pool) {
  auto gate = std::make_shared<std::promise<void>>();
  auto started = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  EXPECT_EQ(pool.submit(
                [opened, started] {
                  started->set_value();
                  opened.wait();
                },
                nullptr, in(10s)),
            WorkPool::Admission::Queued);
  started->get_future().wait();
  return gate;
}

TEST(WorkPool, RunsQueuedTasks) {
  WorkPool pool({"t", 2, 16, 1000ms});
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(pool.submit([&ran] { ++ran; }, nullptr, in(10s)), WorkPool::Admission::Queued);
  }
  pool.stop();  // drains what is queued
  EXPECT_EQ(ran.load(), 10);
  EXPECT_EQ(pool.submit([] {}, nullptr, in(10s)), WorkPool::Admission::Stopped);
}

TEST(WorkPool, RefusesWhenTheQueueIsFull) {
  WorkPool pool({"t", 1, 3, 10000ms});
  auto gate = block(pool);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pool.submit([] {}, nullptr, in(10s)), WorkPool::Admission::Queued);
  }
  EXPECT_EQ(pool.submit([] {}, nullptr, in(10s)), WorkPool::Admission::QueueFull);
  EXPECT_EQ(pool.queued(), 3U);
  EXPECT_EQ(pool.refused(), 1U);
  gate->set_value();
}

TEST(WorkPool, RefusesWhenTheOldestQueuedTaskWaitedTooLong) {
  WorkPool pool({"t", 1, 100, 50ms});
  auto gate = block(pool);
  EXPECT_EQ(pool.submit([] {}, nullptr, in(10s)), WorkPool::Admission::Queued);
  EXPECT_EQ(pool.submit([] {}, nullptr, in(10s)), WorkPool::Admission::Queued);
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(pool.submit([] {}, nullptr, in(10s)), WorkPool::Admission::QueueStale);
  gate->set_value();
  pool.stop();
  // Once the queue drained, work is taken again.
  WorkPool fresh({"t", 1, 100, 50ms});
  EXPECT_EQ(fresh.submit([] {}, nullptr, in(10s)), WorkPool::Admission::Queued);
}

TEST(WorkPool, DropsTasksWhoseDeadlinePassedInTheQueue) {
  WorkPool pool({"t", 1, 100, 10000ms});
  auto gate = block(pool);
  std::atomic<int> ran{0};
  std::atomic<int> expired{0};
  EXPECT_EQ(pool.submit([&ran] { ++ran; }, [&expired] { ++expired; }, in(20ms)),
            WorkPool::Admission::Queued);
  EXPECT_EQ(pool.submit([&ran] { ++ran; }, [&expired] { ++expired; }, in(10s)),
            WorkPool::Admission::Queued);
  std::this_thread::sleep_for(60ms);
  gate->set_value();
  pool.stop();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(expired.load(), 1);
  EXPECT_EQ(pool.expired(), 1U);
}

TEST(WorkPool, ATaskThatThrowsDoesNotTakeTheThreadDown) {
  WorkPool pool({"t", 1, 16, 1000ms});
  std::atomic<int> ran{0};
  EXPECT_EQ(pool.submit([] { throw std::runtime_error("boom"); }, nullptr, in(10s)),
            WorkPool::Admission::Queued);
  EXPECT_EQ(pool.submit([&ran] { ++ran; }, nullptr, in(10s)), WorkPool::Admission::Queued);
  pool.stop();
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace

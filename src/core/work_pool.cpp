#include "core/work_pool.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace cj {

WorkPool::WorkPool(Options options)
    : options_(std::move(options)),
      wait_seconds_(&metrics::Registry::instance().histogram(
          "cloudjet_worker_queue_wait_seconds",
          "Time tasks waited in a worker pool's queue before a thread took them",
          {{"pool", options_.name}}, metrics::fast_latency_buckets())) {
  options_.threads = std::max(1, options_.threads);
  options_.max_queue = std::max<std::size_t>(1, options_.max_queue);
  threads_.reserve(static_cast<std::size_t>(options_.threads));
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { loop(); });
}

WorkPool::~WorkPool() {
  stop();
}

WorkPool::Admission WorkPool::submit(std::function<void()> run, std::function<void()> expired,
                                     Clock::time_point deadline) {
  const auto now = Clock::now();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Admission::Stopped;
    if (queue_.size() >= options_.max_queue) {
      ++refused_;
      return Admission::QueueFull;
    }
    if (!queue_.empty() && now - queue_.front().queued_at > options_.max_wait) {
      ++refused_;
      return Admission::QueueStale;
    }
    queue_.push_back(Task{std::move(run), std::move(expired), now, deadline});
  }
  cv_.notify_one();
  return Admission::Queued;
}

void WorkPool::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // Called by the pool's owner (serve() or the destructor), never concurrently.
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::size_t WorkPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

int WorkPool::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

unsigned long long WorkPool::refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}

unsigned long long WorkPool::expired() const {
  std::lock_guard lock(mu_);
  return expired_;
}

void WorkPool::loop() {
  for (;;) {
    Task task;
    bool late = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      const auto taken = Clock::now();
      wait_seconds_->observe(std::chrono::duration<double>(taken - task.queued_at).count());
      late = taken > task.deadline;
      if (late) ++expired_;
      ++busy_;
    }
    // Tasks answer their own errors; an exception escaping one must not take the thread (and
    // with it the pool's capacity) down.
    try {
      if (late) {
        if (task.expired) task.expired();
      } else {
        task.run();
      }
    } catch (const std::exception& e) {
      log::error("unhandled exception in a pool task",
                 {{"pool", options_.name}, {"error", e.what()}});
    }
    std::lock_guard lock(mu_);
    --busy_;
  }
}

}  // namespace cj

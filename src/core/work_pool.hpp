// A fixed set of threads with a bounded queue that refuses work instead of letting it pile up.
//
// Why refuse: a queue that only grows turns a burst into minutes of latency for everyone, and the
// work at its tail is done for clients that gave up long ago. So a task is refused when the queue
// is full or when its oldest task has already waited longer than `max_wait` (the pool is not
// keeping up, whatever the queue length), and a queued task whose deadline passed before a thread
// got to it is not run at all: its `expired` callback runs instead, which answers 503.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cj {
namespace metrics {
class Histogram;
}

class WorkPool {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::string name;  // for logs and metrics: "database", "cpu", "gateway"
    int threads = 1;
    std::size_t max_queue = 256;
    std::chrono::milliseconds max_wait{1000};
  };

  enum class Admission { Queued, QueueFull, QueueStale, Stopped };

  explicit WorkPool(Options options);
  ~WorkPool();  // stop()
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Queues `run`; if no thread picks it up before `deadline`, `expired` runs instead (on a pool
  // thread). Neither runs unless the answer is Queued.
  Admission submit(std::function<void()> run, std::function<void()> expired,
                   Clock::time_point deadline);

  // Stops accepting, lets the threads finish what is queued, joins them. Idempotent.
  void stop();

  [[nodiscard]] const Options& options() const { return options_; }
  [[nodiscard]] std::size_t queued() const;
  [[nodiscard]] int busy() const;
  // Tasks refused (full or stale queue) and tasks dropped at their deadline, since start.
  [[nodiscard]] unsigned long long refused() const;
  [[nodiscard]] unsigned long long expired() const;

 private:
  struct Task {
    std::function<void()> run;
    std::function<void()> expired;
    Clock::time_point queued_at;
    Clock::time_point deadline;
  };
  void loop();

  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  int busy_ = 0;
  unsigned long long refused_ = 0;
  unsigned long long expired_ = 0;
  // cloudjet_worker_queue_wait_seconds{pool}: enqueue to start, for every task taken.
  metrics::Histogram* wait_seconds_;
  std::vector<std::thread> threads_;
};

}  // namespace cj

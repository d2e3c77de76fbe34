// GET /ready without waiting behind work. Each check is answered by a database ping that started
// after the check arrived, run on a thread of its own (on Db's own ping connection, so a pool
// leased out to busy requests does not matter), and checks arriving together share one ping. A
// ping that has not answered within `budget` (a frozen database) answers "not ready" instead of
// leaving the probe hanging. No I/O thread ever waits for the database here.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace cj::http {

class ReadinessMonitor {
 public:
  // An empty `probe` is always ready.
  ReadinessMonitor(std::function<bool()> probe, asio::io_context& io,
                   std::chrono::milliseconds budget);
  ~ReadinessMonitor();
  ReadinessMonitor(const ReadinessMonitor&) = delete;
  ReadinessMonitor& operator=(const ReadinessMonitor&) = delete;

  void start();
  void stop();  // answers what is still waiting with "not ready"

  // Calls `answer` exactly once: from the ping thread, or from an I/O thread when the budget ran
  // out (or at once when too many checks are already waiting).
  void check(std::function<void(bool)> answer);

 private:
  struct Waiter;
  void loop();

  std::function<bool()> probe_;
  asio::io_context& io_;
  const std::chrono::milliseconds budget_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Waiter>> waiting_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cj::http

// A background thread that runs one pass of some maintenance job (expiring holds, refunding
// orphaned payments, ...) at start and then every `interval`, or sooner when kicked. Every pass
// must be safe to run from every replica at once: the jobs decide each row under its lock, so
// replicas racing each other change each row once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cj {

class PeriodicWorker {
 public:
  // interval 0: start() does nothing (the job is off in this process).
  PeriodicWorker(std::string name, std::chrono::seconds interval, std::function<void()> pass);
  ~PeriodicWorker();
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  void start();
  // Wakes the thread and waits for it: a pass in progress finishes first.
  void stop();
  // Something is due: run a pass now rather than at the next tick.
  void kick();
  [[nodiscard]] const std::string& name() const { return name_; }
  // For a long pass: stop() was called, so finish the item at hand and return.
  [[nodiscard]] bool stopping();

 private:
  void loop();
  std::string name_;
  std::chrono::seconds interval_;
  std::function<void()> pass_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool kicked_ = false;
  std::thread thread_;
};

}  // namespace cj

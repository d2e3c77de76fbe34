#include "core/periodic_worker.hpp"

#include <exception>

#include "core/log.hpp"

namespace cj {

PeriodicWorker::PeriodicWorker(std::string name, std::chrono::seconds interval,
                               std::function<void()> pass)
    : name_(std::move(name)), interval_(interval), pass_(std::move(pass)) {}

PeriodicWorker::~PeriodicWorker() {
  stop();
}

void PeriodicWorker::start() {
  if (interval_.count() <= 0 || thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { loop(); });
}

void PeriodicWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicWorker::kick() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

bool PeriodicWorker::stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

void PeriodicWorker::loop() {
  for (;;) {
    try {
      pass_();
    } catch (const std::exception& e) {
      // A job reports its own errors as values; this is the last line before the thread dies.
      log::error("periodic job failed", {{"job", name_}, {"error", e.what()}});
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, interval_, [this] { return stopping_ || kicked_; });
    if (stopping_) return;
    kicked_ = false;
  }
}

}  // namespace cj

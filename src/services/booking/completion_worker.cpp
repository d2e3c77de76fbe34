#include "services/booking/completion_worker.hpp"

#include <chrono>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "services/booking/store.hpp"

namespace cj::booking {

CompletionWorker::CompletionWorker(db::Db& db, int interval_seconds)
    : db_(db), interval_seconds_(interval_seconds) {}

CompletionWorker::~CompletionWorker() {
  stop();
}

void CompletionWorker::start() {
  if (interval_seconds_ <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
}

void CompletionWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CompletionWorker::loop() {
  for (;;) {
    run_once();
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::seconds(interval_seconds_), [this] { return stopping_; })) {
      return;
    }
  }
}

int CompletionWorker::run_once() {
  // The sales cut-off plays no part in completing, only the departure does.
  BookingStore store(db_, 0);
  auto completed = store.complete_departed(clock::now_unix());
  if (!completed) {
    // Database down or a broken row: the next pass tries again; nothing is half done (each
    // schedule's bookings change in one statement).
    log::warn("completing departed bookings failed", {{"error", completed.error().message_en}});
    return 0;
  }
  if (*completed > 0) {
    metrics::Registry::instance().count_bookings_completed(*completed);
    log::info("bookings of departed flights completed", {{"bookings", *completed}});
  }
  return *completed;
}

}  // namespace cj::booking

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

void CompletionWorker::purge_idempotency_keys(BookingStore& store) {
  // Housekeeping on the same beat: keys past their lifetime are never replayed again.
  auto purged = store.purge_idempotency_keys(clock::now_unix());
  if (!purged) {
    log::warn("purging idempotency keys failed", {{"error", purged.error().message_en}});
  } else if (*purged > 0) {
    log::info("expired idempotency keys purged", {{"keys", *purged}});
  }
}

int CompletionWorker::run_once() {
  // The sales cut-off plays no part in completing, only the departure does.
  BookingStore store(db_, 0);
  auto completed = store.complete_departed(clock::now_unix());
  purge_idempotency_keys(store);  // whether or not completing worked: the two are independent
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

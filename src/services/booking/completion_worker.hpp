// Marks the CONFIRMED bookings of departed flights COMPLETED, in the background: once at start and
// then every BOOKING_COMPLETE_INTERVAL_SECONDS. Every process serving bookings runs it; the update
// only changes bookings still CONFIRMED, so replicas racing each other change each booking once.
// Each pass also purges the idempotency keys past their lifetime (BookingStore::
// purge_idempotency_keys, equally safe on every replica).
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/db.hpp"

namespace cj::booking {

class BookingStore;

class CompletionWorker {
 public:
  // interval_seconds 0: start() does nothing.
  CompletionWorker(db::Db& db, int interval_seconds);
  ~CompletionWorker();
  CompletionWorker(const CompletionWorker&) = delete;
  CompletionWorker& operator=(const CompletionWorker&) = delete;

  void start();
  // Wakes the thread and waits for it: a pass in progress finishes its current statement.
  void stop();
  // One pass at the service clock's now; returns how many bookings it completed.
  int run_once();

 private:
  void loop();
  void purge_idempotency_keys(BookingStore& store);
  db::Db& db_;
  int interval_seconds_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cj::booking

#include "services/booking/completion_pass.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "services/booking/store.hpp"

namespace cj::booking {

int complete_departed_bookings(db::Db& db) {
  // The sales cut-off plays no part in completing, only the departure does.
  auto completed = BookingStore(db, 0).complete_departed(clock::now_unix());
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

int purge_expired_idempotency_keys(db::Db& db) {
  // Keys past their lifetime are never replayed again.
  auto purged = BookingStore(db, 0).purge_idempotency_keys(clock::now_unix());
  if (!purged) {
    log::warn("purging idempotency keys failed", {{"error", purged.error().message_en}});
    return 0;
  }
  if (*purged > 0) log::info("expired idempotency keys purged", {{"keys", *purged}});
  return *purged;
}

}  // namespace cj::booking

#include "services/booking/hold_sweep.hpp"

#include "app/app.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "services/booking/store.hpp"

namespace cj::booking {
namespace {
// Per transaction-batch; a backlog drains over the following passes (and kicks).
constexpr int kBatch = 200;
}  // namespace

int sweep_expired_holds(App& app) {
  BookingStore store(*app.db, app.config.sales_cutoff_minutes);
  auto released = store.expire_holds(clock::now_unix(), kBatch);
  if (!released) {
    // Database down: the next pass tries again; each release is its own transaction.
    log::warn("releasing expired holds failed", {{"error", released.error().message_en}});
    return 0;
  }
  for (const auto& r : *released) {
    app.after_cancel(r.schedule_id, r.touched.departure, r.touched.arrival, r.touched.date,
                     r.refunds_queued);
    log::info("booking hold expired",
              {{"booking_id", r.booking_id}, {"schedule_id", r.schedule_id}});
  }
  const int n = static_cast<int>(released->size());
  if (n > 0) metrics::Registry::instance().count_holds_expired(n);
  return n;
}

}  // namespace cj::booking

#include "services/booking/hold_sweep.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "services/booking/store.hpp"

namespace cj::booking {
namespace {
// Per transaction-batch; a backlog drains over the following passes (and kicks).
constexpr int kBatch = 200;
}  // namespace

int sweep_expired_holds(db::Db& db, int sales_cutoff_minutes, flight::CatalogInvalidator& catalog,
                        Refunds& refunds) {
  BookingStore store(db, sales_cutoff_minutes);
  auto released = store.expire_holds(clock::now_unix(), kBatch, refunds);
  if (!released) {
    // Database down: the next pass tries again; each release is its own transaction.
    log::warn("releasing expired holds failed", {{"error", released.error().message_en}});
    return 0;
  }
  const int n = static_cast<int>(released->size());
  for (auto& w : *released) {
    const CancelOutcome r = finish_release(std::move(w), catalog, refunds);
    log::info("booking hold expired",
              {{"booking_id", r.booking_id}, {"schedule_id", r.schedule_id}});
  }
  if (n > 0) metrics::Registry::instance().count_holds_expired(n);
  return n;
}

}  // namespace cj::booking

#include "services/payment/orphan_refunds.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "services/payment/counters.hpp"
#include "services/payment/refund_worker.hpp"
#include "services/payment/store.hpp"

namespace cj::payment {
namespace {
constexpr int kBatch = 200;
}  // namespace

int refund_orphaned_payments(db::Db& db, int grace_minutes, RefundWorker& refunds) {
  const long long grace = 60LL * grace_minutes;
  auto queued = PaymentStore(db).refund_orphans(clock::now_unix() - grace, kBatch);
  if (!queued) {
    log::warn("refunding orphaned payments failed", {{"error", queued.error().message_en}});
    return 0;
  }
  if (*queued > 0) {
    metrics::Registry::instance().count_orphan_refunds(*queued);
    counters::entered(counters::State::Cancelled, *queued);
    log::warn("captured payments attached to no booking, refunds queued", {{"payments", *queued}});
    refunds.kick();
  }
  return *queued;
}

}  // namespace cj::payment

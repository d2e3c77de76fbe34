#include "services/payment/orphan_refunds.hpp"

#include "app/app.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "services/payment/counters.hpp"
#include "services/payment/store.hpp"

namespace cj::payment {
namespace {
constexpr int kBatch = 200;
}  // namespace

int refund_orphaned_payments(App& app) {
  const long long grace = 60LL * app.config.orphan_payment_refund_minutes;
  auto queued = PaymentStore(*app.db).refund_orphans(clock::now_unix() - grace, kBatch);
  if (!queued) {
    log::warn("refunding orphaned payments failed", {{"error", queued.error().message_en}});
    return 0;
  }
  if (*queued > 0) {
    metrics::Registry::instance().count_orphan_refunds(*queued);
    counters::entered(counters::State::Cancelled, *queued);
    log::warn("captured payments attached to no booking, refunds queued", {{"payments", *queued}});
    app.refunds->kick();
  }
  return *queued;
}

}  // namespace cj::payment

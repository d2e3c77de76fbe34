#include "services/payment/refund_worker.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/trace.hpp"

namespace cj::payment {
namespace {

constexpr auto kTick = std::chrono::seconds(2);
// Refunds sent per pass at most, so a long queue still lets the loop look at stop() and refresh
// the gauges now and then.
constexpr int kBatch = 20;
constexpr long long kMaxBackoffSeconds = 300;

nlohmann::json fields_of(const ClaimedRefund& claim) {
  return {{"outbox_id", claim.item.outbox_id},
          {"payment_id", claim.item.payment_id},
          {"cancel_id", cancel_id_of(claim.item.outbox_id)},
          {"attempt", claim.item.attempts + 1}};
}

// Renews a claim's lease every third of it while the gateway call runs: one call may take longer
// than a lease (the gateway client retries, ~18 s at worst), and the claim must last exactly as
// long as its worker is alive and sending. A worker that stalls past its lease loses the row to
// another, which then sends the same cancel id.
class LeaseKeeper {
 public:
  LeaseKeeper(RefundOutbox& outbox, const ClaimedRefund& claim, int lease_seconds)
      : outbox_(outbox), claim_(claim), lease_seconds_(lease_seconds), thread_([this] { run(); }) {}
  ~LeaseKeeper() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

 private:
  void run() {
    const auto every = std::chrono::milliseconds(lease_seconds_ * 1000LL / 3);
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, every, [this] { return done_; })) {
      lock.unlock();
      auto held = outbox_.renew(claim_, clock::now_unix() + lease_seconds_);
      lock.lock();
      if (!held) {
        // The database is away: the next renewal may still come in time.
        log::warn("renewing a refund's lease failed",
                  {{"outbox_id", claim_.item.outbox_id}, {"error", held.error().message_en}});
      } else if (*held == Claim::Lost) {
        log::warn("refund claim taken over while its gateway call runs", fields_of(claim_));
        return;
      }
    }
  }

  RefundOutbox& outbox_;
  const ClaimedRefund& claim_;
  const int lease_seconds_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: it starts running in the constructor
};

}  // namespace

RefundWorker::RefundWorker(db::Db& db, std::shared_ptr<PaymentGateway> gateway, int lease_seconds)
    : db_(db),
      gateway_(std::move(gateway)),
      lease_seconds_(lease_seconds),
      worker_("refunds", kTick, [this] { process_due(); }) {}

int RefundWorker::process_due() {
  RefundOutbox outbox(db_);
  int sent = 0;
  for (int i = 0; gateway_ && i < kBatch && !worker_.stopping(); ++i) {
    auto claim = outbox.claim_next(clock::now_unix(), lease_seconds_);
    if (!claim) break;   // database down (Db logged it): try again next tick
    if (!*claim) break;  // nothing due
    if (send(outbox, **claim) == Outcome::Sent) ++sent;
  }
  refresh_metrics(outbox);
  return sent;
}

RefundWorker::Outcome RefundWorker::send(RefundOutbox& outbox, const ClaimedRefund& claim) {
  const OutboxItem& item = claim.item;
  // The send continues the trace of whatever queued the refund (a cancel in the booking service,
  // a webhook): its gateway call and marks are children of this span. A row stored without one
  // (or with an unreadable one) starts a trace of its own.
  const auto parent = trace::parse_traceparent(item.traceparent);
  trace::Span span("refund.send", trace::SpanKind::Consumer, parent ? &*parent : nullptr,
                   "payment");
  span.set("cloudjet.refund.outbox_id", static_cast<std::int64_t>(item.outbox_id));
  span.set("cloudjet.refund.attempt", std::int64_t{item.attempts} + 1);
  const trace::Scope scope(span.context(), span.service());
  const Status st = [&] {
    LeaseKeeper keeper(outbox, claim, lease_seconds_);
    return gateway_->cancel(
        {item.receipt_id, item.cancel_price, item.reason, cancel_id_of(item.outbox_id)});
  }();
  nlohmann::json fields = fields_of(claim);
  auto& registry = metrics::Registry::instance();

  Result<Claim> marked = Claim::Held;
  Outcome outcome = Outcome::Sent;
  if (st) {
    marked = outbox.complete(claim);
  } else if (is_refusal(st.error())) {
    fields["error"] = st.error().message_en;
    marked = outbox.fail(claim, st.error().message_en);
    outcome = Outcome::Refused;
  } else {
    const long long backoff =
        std::min<long long>(kMaxBackoffSeconds, 1LL << std::min(item.attempts + 1, 16));
    fields["error"] = st.error().message_en;
    fields["retry_in_s"] = backoff;
    marked = outbox.retry_later(claim, clock::now_unix() + backoff, st.error().message_en);
    outcome = Outcome::Retry;
  }

  if (outcome != Outcome::Sent) {
    span.set("error.type", outcome == Outcome::Refused ? "refused" : "retry");
    span.set_error(st.error().message_en);
  }
  if (!marked) {
    // The row stays SENDING until its lease ends, then goes out again with the same cancel id.
    fields["mark_error"] = marked.error().message_en;
    log::error("refund outcome not recorded (database unavailable); it will be sent again", fields);
    return Outcome::NotMarked;
  }
  if (*marked == Claim::Lost) {
    // Another worker holds the row now; what it records stands.
    log::warn("refund claim was taken over; outcome not recorded", fields);
    return Outcome::Lost;
  }
  switch (outcome) {
    case Outcome::Sent:
      registry.count_refund_sent();
      fields["amount"] = item.cancel_price;
      log::info("refund sent", fields);
      break;
    case Outcome::Refused:
      registry.count_refund_failed();
      log::error("ALERT refund refused by the payment gateway: FAILED, not retried", fields);
      break;
    default: log::warn("refund failed, will retry", fields); break;
  }
  return outcome;
}

void RefundWorker::refresh_metrics(RefundOutbox& outbox) {
  auto stats = outbox.stats(clock::now_unix());
  if (!stats) return;  // database down: the gauges keep their last values
  metrics::Registry::instance().set_refund_outbox(stats->pending, stats->failed,
                                                  stats->oldest_age_seconds);
}

}  // namespace cj::payment

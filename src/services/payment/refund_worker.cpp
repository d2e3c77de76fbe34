#include "services/payment/refund_worker.hpp"

#include <algorithm>
#include <chrono>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "services/payment/store.hpp"

namespace cj::payment {
namespace {

constexpr auto kTick = std::chrono::seconds(2);
constexpr int kBatch = 20;
constexpr int kLeaseSeconds = 60;
constexpr long long kMaxBackoffSeconds = 300;

}  // namespace

RefundWorker::RefundWorker(db::Db& db, std::shared_ptr<PaymentGateway> gateway)
    : db_(db), gateway_(std::move(gateway)) {}

RefundWorker::~RefundWorker() {
  stop();
}

void RefundWorker::start() {
  if (!gateway_ || thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
}

void RefundWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RefundWorker::kick() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

void RefundWorker::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kTick, [this] { return stopping_ || kicked_; });
      if (stopping_) return;
      kicked_ = false;
    }
    process_due();
  }
}

int RefundWorker::process_due() {
  if (!gateway_) return 0;
  PaymentStore store(db_);
  auto due = store.claim_due_refunds(clock::now_unix(), kBatch, kLeaseSeconds);
  if (!due) return 0;  // database down: try again next tick
  int sent = 0;
  for (const auto& item : *due) {
    auto st = gateway_->cancel(item.receipt_id, item.cancel_price, item.reason);
    if (st) {
      (void)store.refund_sent(item.outbox_id);
      ++sent;
      log::info("refund sent", {{"payment_id", item.payment_id}, {"amount", item.cancel_price}});
      continue;
    }
    const long long backoff =
        std::min<long long>(kMaxBackoffSeconds, 1LL << std::min(item.attempts + 1, 16));
    (void)store.refund_failed(item.outbox_id, clock::now_unix() + backoff, st.error().message_en);
    log::warn("refund failed, will retry", {{"payment_id", item.payment_id},
                                            {"attempt", item.attempts + 1},
                                            {"retry_in_s", backoff},
                                            {"error", st.error().message_en}});
  }
  return sent;
}

}  // namespace cj::payment

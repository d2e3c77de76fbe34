// Sends queued refunds (refund_outbox) to the payment gateway in the background: right after a
// cancel (kick) and every few seconds, with exponential backoff while the gateway is unreachable
// and a final FAILED when it refuses. Each refund is claimed on its own, with a token and a lease
// that is renewed while its gateway call runs, so a slow gateway never lets another replica send
// the same refund; the gateway call carries the row's cancel id in case it is sent twice anyway
// (a stalled process whose lease ran out). Every pass also refreshes the refund_outbox gauges.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "core/db.hpp"
#include "services/payment/gateway.hpp"
#include "services/payment/refund_outbox.hpp"

namespace cj::payment {

class RefundWorker {
 public:
  RefundWorker(db::Db& db, std::shared_ptr<PaymentGateway> gateway, int lease_seconds);
  ~RefundWorker();
  RefundWorker(const RefundWorker&) = delete;
  RefundWorker& operator=(const RefundWorker&) = delete;

  void start();
  void stop();
  // Something was queued: look now rather than at the next tick.
  void kick();
  // One pass over due refunds; returns how many were sent (used by the loop and by tests).
  int process_due();

 private:
  enum class Outcome { Sent, Retry, Refused, Lost, NotMarked };
  void loop();
  [[nodiscard]] bool stopping();
  Outcome send(RefundOutbox& outbox, const ClaimedRefund& claim);
  void refresh_metrics(RefundOutbox& outbox);

  db::Db& db_;
  std::shared_ptr<PaymentGateway> gateway_;
  int lease_seconds_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool kicked_ = false;
  std::thread thread_;
};

}  // namespace cj::payment

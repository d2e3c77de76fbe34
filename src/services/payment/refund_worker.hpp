// Sends queued refunds (refund_outbox) to the payment gateway in the background: right after a
// cancel (kick) and every few seconds, with exponential backoff while the gateway is unreachable
// and a final FAILED when it refuses. Each refund is claimed on its own, with a token and a lease
// that is renewed while its gateway call runs, so a slow gateway never lets another replica send
// the same refund; the gateway call carries the row's cancel id in case it is sent twice anyway
// (a stalled process whose lease ran out). Every pass also refreshes the refund_outbox gauges.
#pragma once

#include <memory>

#include "core/db.hpp"
#include "core/periodic_worker.hpp"
#include "services/payment/gateway.hpp"
#include "services/payment/refund_outbox.hpp"

namespace cj::payment {

class RefundWorker {
 public:
  RefundWorker(db::Db& db, std::shared_ptr<PaymentGateway> gateway, int lease_seconds);

  // Runs without a gateway too: the gauges then show the refunds waiting for one.
  void start() { worker_.start(); }
  void stop() { worker_.stop(); }
  // Something was queued: look now rather than at the next tick.
  void kick() { worker_.kick(); }
  // One pass over due refunds; returns how many were sent (used by the loop and by tests).
  int process_due();

 private:
  enum class Outcome { Sent, Retry, Refused, Lost, NotMarked };
  Outcome send(RefundOutbox& outbox, const ClaimedRefund& claim);
  void refresh_metrics(RefundOutbox& outbox);

  db::Db& db_;
  std::shared_ptr<PaymentGateway> gateway_;
  int lease_seconds_;
  PeriodicWorker worker_;  // last: its thread uses the members above and is joined first
};

}  // namespace cj::payment

// Sends queued refunds (refund_outbox) to the payment gateway in the background: right after a
// cancel (kick) and every few seconds, with exponential backoff for failures. A refund row is
// claimed with a lease before it is sent, so two processes never send the same one at once.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "core/db.hpp"
#include "services/payment/gateway.hpp"

namespace cj::payment {

class RefundWorker {
 public:
  RefundWorker(db::Db& db, std::shared_ptr<PaymentGateway> gateway);
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
  void loop();
  db::Db& db_;
  std::shared_ptr<PaymentGateway> gateway_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool kicked_ = false;
  std::thread thread_;
};

}  // namespace cj::payment

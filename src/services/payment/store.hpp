// Payments in SQL (the refund outbox's workers: refund_outbox.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"
#include "services/payment/model.hpp"

namespace cj::payment {

enum class Transition { Applied, NoChange };

class PaymentStore {
 public:
  explicit PaymentStore(db::Db& db) : db_(db) {}

  Result<Payment> create(long long user_id, const PaymentInit& init, const std::string& order_id);
  Result<std::optional<Payment>> find_by_order(const std::string& order_id);
  // Forward-only transitions, decided under the payment row's lock.
  Result<Transition> mark_paid(const std::string& order_id, const std::string& receipt_id,
                               const std::string& raw_payload);
  Result<Transition> mark_failed(const std::string& order_id, const std::string& raw_payload);
  Status attach(long long user_id, const std::string& order_id, long long booking_id);

 private:
  db::Db& db_;
};

// Inside a cancel's transaction: every PAID payment of the booking becomes CANCELLED and gets one
// refund_outbox row. Returns how many refunds were queued.
int queue_refunds_in_transaction(soci::session& s, bool sqlite, long long booking_id,
                                 const std::string& reason);

}  // namespace cj::payment

// Payments and the refund outbox in SQL.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"
#include "services/payment/model.hpp"

namespace cj::payment {

enum class Transition { Applied, NoChange };

struct OutboxItem {
  long long outbox_id = 0;
  long long payment_id = 0;
  std::string receipt_id;
  long long cancel_price = 0;
  std::string reason;
  int attempts = 0;
};

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

  // Claims due refunds (lease of `lease_seconds`, so a crashed sender's row is retried later).
  Result<std::vector<OutboxItem>> claim_due_refunds(long long now_unix, int limit,
                                                    int lease_seconds);
  Status refund_sent(long long outbox_id);
  Status refund_failed(long long outbox_id, long long next_attempt_unix, const std::string& error);

 private:
  db::Db& db_;
};

// Inside a cancel's transaction: every PAID payment of the booking becomes CANCELLED and gets one
// refund_outbox row. Returns how many refunds were queued.
int queue_refunds_in_transaction(soci::session& s, bool sqlite, long long booking_id,
                                 const std::string& reason);

}  // namespace cj::payment

// Payments in SQL (the refund outbox's workers: refund_outbox.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"
#include "services/payment/model.hpp"

namespace cj::payment {

// What a payment write did. Confirmed: it also turned the booking's hold into a CONFIRMED booking.
// Refunded: the money arrived for a booking that had ended, and its refund is queued.
enum class Transition { Applied, Confirmed, Refunded, NoChange };

// A captured payment to refund.
struct CapturedPayment {
  long long payment_id = 0;
  std::string receipt_id;
  long long amount = 0;
};

class PaymentStore {
 public:
  explicit PaymentStore(db::Db& db) : db_(db) {}

  Result<Payment> create(long long user_id, const PaymentInit& init, const std::string& order_id);
  Result<std::optional<Payment>> find_by_order(const std::string& order_id);
  // Forward-only transitions, decided under the booking's and then the payment row's lock. A
  // payment that becomes PAID confirms its HELD booking, or is refunded when its booking was
  // cancelled or expired, in the same transaction.
  Result<Transition> mark_paid(const std::string& order_id, const std::string& receipt_id,
                               const std::string& raw_payload);
  Result<Transition> mark_failed(const std::string& order_id, const std::string& raw_payload);
  // Links the caller's payment to the caller's live (HELD/CONFIRMED) booking of the same amount;
  // a PAID payment confirms a HELD booking.
  Result<Transition> attach(long long user_id, const std::string& order_id, long long booking_id);
  // Refunds PAID payments attached to no booking that were paid before `paid_before_unix` (at
  // most `limit`), each decided under its row lock; returns how many refunds it queued.
  Result<int> refund_orphans(long long paid_before_unix, int limit);

 private:
  db::Db& db_;
};

// Inside a cancel's transaction: every PAID payment of the booking becomes CANCELLED and gets one
// refund_outbox row. Returns how many refunds were queued.
// Inside a transaction holding the payment's row: the payment becomes CANCELLED and gets its one
// refund_outbox row.
void queue_refund(soci::session& s, bool sqlite, const CapturedPayment& p,
                  const std::string& reason);
int queue_refunds_in_transaction(soci::session& s, bool sqlite, long long booking_id,
                                 const std::string& reason);

}  // namespace cj::payment

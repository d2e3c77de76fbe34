// The refund outbox (refund_outbox) as the refund workers of every replica use it. A cancel queues
// a row in its own transaction (queue_refunds_in_transaction); a worker claims one due row at a
// time with a random claim token and a lease (while SENDING, next_attempt_at is the lease's end),
// sends it, and then marks it. Every mark is conditional on the token, so a worker whose lease
// ran out and whose row another worker claimed cannot overwrite what that worker does.
#pragma once

#include <optional>
#include <string>

#include "core/db.hpp"

namespace cj::payment {

struct OutboxItem {
  long long outbox_id = 0;
  long long payment_id = 0;
  std::string receipt_id;
  long long cancel_price = 0;
  std::string reason;
  int attempts = 0;  // attempts finished before this claim
  // The traceparent of the work that queued it (empty: none), continued by the send.
  std::string traceparent;
};

// A row held by this worker until its lease ends (or until another worker takes it over).
struct ClaimedRefund {
  OutboxItem item;
  std::string token;
};

// Whether a conditional mark found the claim still ours.
enum class Claim { Held, Lost };

struct OutboxStats {
  long long pending = 0;             // PENDING + SENDING
  long long failed = 0;              // FAILED (refused by the gateway, never retried)
  long long oldest_age_seconds = 0;  // of the oldest PENDING/SENDING row; 0 when none
};

// The id the gateway knows a refund by: the same row always sends the same id, so a send
// repeated after a lost answer or a taken-over claim is recognised as the same cancel.
std::string cancel_id_of(long long outbox_id);

class RefundOutbox {
 public:
  explicit RefundOutbox(db::Db& db) : db_(db) {}

  // The oldest due row (PENDING whose next attempt is due, or SENDING whose lease ran out), now
  // SENDING under a new token until now + lease_seconds. nullopt when nothing is due.
  Result<std::optional<ClaimedRefund>> claim_next(long long now_unix, int lease_seconds);
  // Moves the lease's end to until_unix while the claim is still ours.
  Result<Claim> renew(const ClaimedRefund& claim, long long until_unix);
  // The gateway made the refund: DONE.
  Result<Claim> complete(const ClaimedRefund& claim);
  // The gateway could not be asked: PENDING again, due at next_attempt_unix.
  Result<Claim> retry_later(const ClaimedRefund& claim, long long next_attempt_unix,
                            const std::string& error);
  // The gateway refused the refund: FAILED, kept with the error for an operator.
  Result<Claim> fail(const ClaimedRefund& claim, const std::string& error);
  // One aggregate query over the rows that are not DONE (the status index).
  Result<OutboxStats> stats(long long now_unix);

 private:
  db::Db& db_;
};

}  // namespace cj::payment

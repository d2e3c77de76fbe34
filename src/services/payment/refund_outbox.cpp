#include "services/payment/refund_outbox.hpp"

#include <algorithm>
#include <vector>

#include "core/clock.hpp"
#include "core/security.hpp"

namespace cj::payment {
namespace {

// A few candidates per claim: a worker that loses the race for the first (another replica
// claimed it between our read and our update) tries the next instead of waiting a tick.
constexpr int kCandidates = 8;
constexpr std::size_t kTokenChars = 32;
constexpr std::size_t kMaxErrorChars = 400;  // last_error is VARCHAR(500) on MySQL

// Due: a PENDING row whose next attempt has come, or a SENDING row whose lease ran out (its
// worker crashed or stalled). The (status, next_attempt_at) index answers it.
constexpr const char* kDueCandidates =
    "SELECT outbox_id FROM refund_outbox "
    "WHERE status IN ('PENDING', 'SENDING') AND next_attempt_at <= :now "
    "ORDER BY outbox_id LIMIT :lim";
// Only one worker wins a row: the update is conditional on it still being due.
constexpr const char* kClaim =
    "UPDATE refund_outbox SET status = 'SENDING', claim_token = :tok, next_attempt_at = :lease, "
    "updated_at = :ts "
    "WHERE outbox_id = :id AND status IN ('PENDING', 'SENDING') AND next_attempt_at <= :now";
constexpr const char* kClaimed =
    "SELECT outbox_id, payment_id, receipt_id, cancel_price, reason, attempts, traceparent "
    "FROM refund_outbox WHERE outbox_id = :id";

// Every mark below holds only for the claim's own token.
constexpr const char* kRenew =
    "UPDATE refund_outbox SET next_attempt_at = :lease "
    "WHERE outbox_id = :id AND claim_token = :tok AND status = 'SENDING'";
// MySQL counts changed rows, not matched ones: a renewal to the same second changes nothing.
constexpr const char* kStillHeld =
    "SELECT COUNT(*) FROM refund_outbox "
    "WHERE outbox_id = :id AND claim_token = :tok AND status = 'SENDING'";
constexpr const char* kDone =
    "UPDATE refund_outbox SET status = 'DONE', attempts = attempts + 1, last_error = NULL, "
    "claim_token = NULL, updated_at = :ts "
    "WHERE outbox_id = :id AND claim_token = :tok AND status = 'SENDING'";
constexpr const char* kRetry =
    "UPDATE refund_outbox SET status = 'PENDING', attempts = attempts + 1, "
    "next_attempt_at = :next, last_error = :err, claim_token = NULL, updated_at = :ts "
    "WHERE outbox_id = :id AND claim_token = :tok AND status = 'SENDING'";
constexpr const char* kFailed =
    "UPDATE refund_outbox SET status = 'FAILED', attempts = attempts + 1, last_error = :err, "
    "claim_token = NULL, updated_at = :ts "
    "WHERE outbox_id = :id AND claim_token = :tok AND status = 'SENDING'";

// The age is read against the service clock; created_at is UTC text (SQLite) or a TIMESTAMP
// (UNIX_TIMESTAMP is time-zone safe). DONE rows, the bulk of the table, are not read.
constexpr const char* kStatsSqlite =
    "SELECT COUNT(CASE WHEN status <> 'FAILED' THEN 1 END), "
    "COUNT(CASE WHEN status = 'FAILED' THEN 1 END), "
    "MIN(CASE WHEN status <> 'FAILED' THEN CAST(strftime('%s', created_at) AS INTEGER) END) "
    "FROM refund_outbox WHERE status IN ('PENDING', 'SENDING', 'FAILED')";
constexpr const char* kStatsMysql =
    "SELECT COUNT(CASE WHEN status <> 'FAILED' THEN 1 END), "
    "COUNT(CASE WHEN status = 'FAILED' THEN 1 END), "
    "MIN(CASE WHEN status <> 'FAILED' THEN UNIX_TIMESTAMP(created_at) END) "
    "FROM refund_outbox WHERE status IN ('PENDING', 'SENDING', 'FAILED')";

std::string new_token() {
  return security::random_string(kTokenChars, "0123456789abcdef");
}

// A mark that changes the row's status: exactly one row changed means the claim was ours.
template <typename Prepare>
Result<Claim> conditional_mark(db::Db& db, std::string_view op, const Prepare& prepare) {
  return db.write(op, [&](soci::session& s) {
    soci::statement st = prepare(s);
    st.execute(true);
    return st.get_affected_rows() == 1 ? Claim::Held : Claim::Lost;
  });
}

}  // namespace

std::string cancel_id_of(long long outbox_id) {
  return "cj-refund-" + std::to_string(outbox_id);
}

Result<std::optional<ClaimedRefund>> RefundOutbox::claim_next(long long now_unix,
                                                              int lease_seconds) {
  return db_.transaction(
      "refund_outbox.claim", [&](soci::session& s) -> Result<std::optional<ClaimedRefund>> {
        std::vector<long long> candidates;
        {
          long long id = 0;
          int limit = kCandidates;
          soci::statement st =
              (s.prepare << kDueCandidates, soci::into(id), soci::use(now_unix), soci::use(limit));
          st.execute();
          while (st.fetch()) candidates.push_back(id);
        }
        const std::string token = new_token();
        const long long lease = now_unix + lease_seconds;
        const std::string ts = clock::db_now();
        for (long long id : candidates) {
          soci::statement claim = (s.prepare << kClaim, soci::use(token), soci::use(lease),
                                   soci::use(ts), soci::use(id), soci::use(now_unix));
          claim.execute(true);
          if (claim.get_affected_rows() != 1) continue;  // another worker was first
          ClaimedRefund c;
          c.token = token;
          std::string receipt;
          std::string traceparent;
          soci::indicator receipt_i = soci::i_ok;
          soci::indicator traceparent_i = soci::i_ok;
          s << kClaimed, soci::into(c.item.outbox_id), soci::into(c.item.payment_id),
              soci::into(receipt, receipt_i), soci::into(c.item.cancel_price),
              soci::into(c.item.reason), soci::into(c.item.attempts),
              soci::into(traceparent, traceparent_i), soci::use(id);
          c.item.receipt_id = receipt_i == soci::i_ok ? receipt : "";
          c.item.traceparent = traceparent_i == soci::i_ok ? traceparent : "";
          return std::optional<ClaimedRefund>(std::move(c));
        }
        return std::optional<ClaimedRefund>();
      });
}

Result<Claim> RefundOutbox::renew(const ClaimedRefund& claim, long long until_unix) {
  return db_.write("refund_outbox.renew", [&](soci::session& s) {
    soci::statement st = (s.prepare << kRenew, soci::use(until_unix),
                          soci::use(claim.item.outbox_id), soci::use(claim.token));
    st.execute(true);
    if (st.get_affected_rows() == 1) return Claim::Held;
    long long held = 0;
    s << kStillHeld, soci::into(held), soci::use(claim.item.outbox_id), soci::use(claim.token);
    return held == 1 ? Claim::Held : Claim::Lost;
  });
}

Result<Claim> RefundOutbox::complete(const ClaimedRefund& claim) {
  const std::string ts = clock::db_now();
  return conditional_mark(db_, "refund_outbox.complete", [&](soci::session& s) {
    return soci::statement((s.prepare << kDone, soci::use(ts), soci::use(claim.item.outbox_id),
                            soci::use(claim.token)));
  });
}

Result<Claim> RefundOutbox::retry_later(const ClaimedRefund& claim, long long next_attempt_unix,
                                        const std::string& error) {
  const std::string ts = clock::db_now();
  const std::string err = error.substr(0, kMaxErrorChars);
  return conditional_mark(db_, "refund_outbox.retry_later", [&](soci::session& s) {
    return soci::statement((s.prepare << kRetry, soci::use(next_attempt_unix), soci::use(err),
                            soci::use(ts), soci::use(claim.item.outbox_id),
                            soci::use(claim.token)));
  });
}

Result<Claim> RefundOutbox::fail(const ClaimedRefund& claim, const std::string& error) {
  const std::string ts = clock::db_now();
  const std::string err = error.substr(0, kMaxErrorChars);
  return conditional_mark(db_, "refund_outbox.fail", [&](soci::session& s) {
    return soci::statement((s.prepare << kFailed, soci::use(err), soci::use(ts),
                            soci::use(claim.item.outbox_id), soci::use(claim.token)));
  });
}

Result<OutboxStats> RefundOutbox::stats(long long now_unix) {
  return db_.run("refund_outbox.stats", [&](soci::session& s) {
    OutboxStats out;
    long long oldest = 0;
    soci::indicator oldest_i = soci::i_null;
    s << db_.pick(kStatsSqlite, kStatsMysql), soci::into(out.pending), soci::into(out.failed),
        soci::into(oldest, oldest_i);
    if (oldest_i == soci::i_ok) out.oldest_age_seconds = std::max(0LL, now_unix - oldest);
    return out;
  });
}

}  // namespace cj::payment

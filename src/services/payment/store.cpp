#include "services/payment/store.hpp"

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/trace.hpp"

namespace cj::payment {
namespace {

constexpr const char* kInsertPayment =
    "INSERT INTO payments (user_id, method, provider, amount, currency, status, order_id) "
    "VALUES (:u, :m, :p, :a, 'KRW', 'REQUESTED', :o)";
constexpr const char* kByOrder =
    "SELECT payment_id, user_id, booking_id, amount, status, bootpay_receipt_id, order_id "
    "FROM payments WHERE order_id = :o";
constexpr const char* kByOrderForUpdate =
    "SELECT payment_id, user_id, booking_id, amount, status, bootpay_receipt_id, order_id "
    "FROM payments WHERE order_id = :o FOR UPDATE";
// updated_at comes from the service clock on both dialects (not MySQL's ON UPDATE).
constexpr const char* kSetPaid =
    "UPDATE payments SET status = 'PAID', bootpay_receipt_id = :r, raw_payload = :raw, "
    "updated_at = :now WHERE payment_id = :id";
constexpr const char* kSetFailed =
    "UPDATE payments SET status = 'FAILED', raw_payload = :raw, updated_at = :now "
    "WHERE payment_id = :id";
// Lock order everywhere: the booking before its payments (cancel and the hold sweeper lock the
// schedule, then the booking, then touch the payments), so these never deadlock with a cancel.
constexpr const char* kBookingOfUserSqlite =
    "SELECT total_amount, status FROM bookings WHERE booking_id = :b AND user_id = :u";
constexpr const char* kBookingOfUserMysql =
    "SELECT total_amount, status FROM bookings WHERE booking_id = :b AND user_id = :u FOR UPDATE";
constexpr const char* kBookingStatusSqlite = "SELECT status FROM bookings WHERE booking_id = :b";
constexpr const char* kBookingStatusMysql =
    "SELECT status FROM bookings WHERE booking_id = :b FOR UPDATE";
// A captured payment turns a hold into a booking.
constexpr const char* kConfirmHeld =
    "UPDATE bookings SET status = 'CONFIRMED', hold_expires_at = NULL "
    "WHERE booking_id = :b AND status = 'HELD'";
constexpr const char* kOtherPaymentOfBooking =
    "SELECT COUNT(*) FROM payments WHERE booking_id = :b AND payment_id <> :p "
    "AND status IN ('REQUESTED', 'PAID')";
constexpr const char* kAttach = "UPDATE payments SET booking_id = :b WHERE payment_id = :p";

constexpr const char* kPaidOfBooking =
    "SELECT payment_id, bootpay_receipt_id, amount FROM payments "
    "WHERE booking_id = :b AND status = 'PAID'";
constexpr const char* kCancelPayment =
    "UPDATE payments SET status = 'CANCELLED', updated_at = :now WHERE payment_id = :id";
constexpr const char* kQueueRefundSqlite =
    "INSERT OR IGNORE INTO refund_outbox (payment_id, receipt_id, cancel_price, reason, "
    "created_at, updated_at, traceparent) VALUES (:p, :r, :a, :why, :now, :now2, :tp)";
constexpr const char* kQueueRefundMysql =
    "INSERT IGNORE INTO refund_outbox (payment_id, receipt_id, cancel_price, reason, "
    "created_at, updated_at, traceparent) VALUES (:p, :r, :a, :why, :now, :now2, :tp)";

// Captured payments that no booking claimed in time (the original front end pays first, then
// books: a failed booking leaves one). updated_at is when it became PAID.
constexpr const char* kOrphanCandidates =
    "SELECT order_id FROM payments WHERE status = 'PAID' AND booking_id IS NULL "
    "AND updated_at <= :cutoff ORDER BY payment_id LIMIT :lim";

std::optional<Payment> fetch(soci::session& s, const char* sql, const std::string& order_id) {
  Payment p;
  long long booking = 0;
  std::string receipt;
  soci::indicator booking_i, receipt_i;
  s << sql, soci::into(p.payment_id), soci::into(p.user_id), soci::into(booking, booking_i),
      soci::into(p.amount), soci::into(p.status), soci::into(receipt, receipt_i),
      soci::into(p.order_id), soci::use(order_id);
  if (!s.got_data()) return std::nullopt;
  if (booking_i == soci::i_ok) p.booking_id = booking;
  if (receipt_i == soci::i_ok) p.receipt_id = receipt;
  return p;
}

// The booking's status, with the booking row locked (MySQL; SQLite's writer lock covers it).
std::string lock_booking(soci::session& s, bool sqlite, long long booking_id) {
  std::string status;
  s << (sqlite ? kBookingStatusSqlite : kBookingStatusMysql), soci::into(status),
      soci::use(booking_id);
  return status;
}

}  // namespace

Result<Payment> PaymentStore::create(long long user_id, const PaymentInit& init,
                                     const std::string& order_id) {
  return db_.write("payment.create", [&](soci::session& s) -> Result<Payment> {
    try {
      s << kInsertPayment, soci::use(user_id), soci::use(init.method), soci::use(init.provider),
          soci::use(init.amount), soci::use(order_id);
    } catch (const soci::soci_error& e) {
      if (db::is_unique_violation(e)) return order_exists();
      throw;
    }
    Payment p;
    s.get_last_insert_id("payments", p.payment_id);
    p.user_id = user_id;
    p.amount = init.amount;
    p.status = "REQUESTED";
    p.order_id = order_id;
    return p;
  });
}

Result<std::optional<Payment>> PaymentStore::find_by_order(const std::string& order_id) {
  return db_.run("payment.find_by_order",
                 [&](soci::session& s) { return fetch(s, kByOrder, order_id); });
}

Result<Transition> PaymentStore::mark_paid(const std::string& order_id,
                                           const std::string& receipt_id,
                                           const std::string& raw_payload) {
  return db_.transaction("payment.mark_paid", [&](soci::session& s) -> Result<Transition> {
    // The booking first (see the lock order above): peek at which one, lock it, then the payment.
    auto peek = fetch(s, kByOrder, order_id);
    if (!peek) return payment_not_found();
    std::string booking_status;
    if (peek->booking_id) booking_status = lock_booking(s, db_.is_sqlite(), *peek->booking_id);
    auto p = fetch(s, db_.pick(kByOrder, kByOrderForUpdate), order_id);
    if (!p) return payment_not_found();
    if (p->booking_id && p->booking_id != peek->booking_id) {
      // Attached between the peek and the lock (rare): lock that booking now. Should this
      // ordering meet a cancel, the database reports a deadlock and Db::transaction retries.
      booking_status = lock_booking(s, db_.is_sqlite(), *p->booking_id);
    }
    // REQUESTED → PAID; a FAILED attempt followed by a successful one is money received too.
    if (p->status != "REQUESTED" && p->status != "FAILED") return Transition::NoChange;
    const std::string now = clock::db_now();
    try {
      s << kSetPaid, soci::use(receipt_id), soci::use(raw_payload), soci::use(now),
          soci::use(p->payment_id);
    } catch (const soci::soci_error& e) {
      // The receipt already belongs to another payment.
      if (db::is_unique_violation(e)) return gateway_mismatch();
      throw;
    }
    if (!p->booking_id) return Transition::Applied;  // attach-booking (or the orphan refund) next
    if (booking_status == "HELD") {
      s << kConfirmHeld, soci::use(*p->booking_id);
      return Transition::Confirmed;
    }
    if (booking_status == "CANCELLED" || booking_status == "EXPIRED") {
      // Money for a booking that no longer exists: refunded in this same transaction.
      queue_refund(s, db_.is_sqlite(), {p->payment_id, receipt_id, p->amount},
                   "paid after the booking ended");
      return Transition::Refunded;
    }
    return Transition::Applied;
  });
}

Result<Transition> PaymentStore::mark_failed(const std::string& order_id,
                                             const std::string& raw_payload) {
  return db_.transaction("payment.mark_failed", [&](soci::session& s) -> Result<Transition> {
    auto p = fetch(s, db_.pick(kByOrder, kByOrderForUpdate), order_id);
    if (!p) return payment_not_found();
    if (p->status != "REQUESTED") return Transition::NoChange;  // never PAID → FAILED
    const std::string now = clock::db_now();
    s << kSetFailed, soci::use(raw_payload), soci::use(now), soci::use(p->payment_id);
    return Transition::Applied;
  });
}

Result<Transition> PaymentStore::attach(long long user_id, const std::string& order_id,
                                        long long booking_id) {
  return db_.transaction("payment.attach", [&](soci::session& s) -> Result<Transition> {
    // Lock the booking, then the payment (the lock order above); report as before: the payment's
    // errors first.
    long long booking_amount = 0;
    std::string booking_status;
    s << db_.pick(kBookingOfUserSqlite, kBookingOfUserMysql), soci::into(booking_amount),
        soci::into(booking_status), soci::use(booking_id), soci::use(user_id);
    const bool booking_found = s.got_data();
    auto p = fetch(s, db_.pick(kByOrder, kByOrderForUpdate), order_id);
    if (!p || p->user_id != user_id) return payment_not_found();
    if (!booking_found) return booking_not_found();
    if (p->booking_id && *p->booking_id == booking_id) {
      return Transition::NoChange;  // attaching again is harmless
    }
    // Only a live booking takes a payment: money for a cancelled or expired one would be captured
    // with nothing to fly.
    if (booking_status != "HELD" && booking_status != "CONFIRMED") return booking_not_live();
    if (p->status == "CANCELLED") return payment_refunded();
    if (booking_amount != p->amount) return amount_mismatch();
    if (p->booking_id) return already_attached();
    long long others = 0;
    s << kOtherPaymentOfBooking, soci::into(others), soci::use(booking_id),
        soci::use(p->payment_id);
    if (others > 0) return already_attached();
    s << kAttach, soci::use(booking_id), soci::use(p->payment_id);
    if (p->status == "PAID" && booking_status == "HELD") {
      s << kConfirmHeld, soci::use(booking_id);
      return Transition::Confirmed;
    }
    return Transition::Applied;
  });
}

Result<int> PaymentStore::refund_orphans(long long paid_before_unix, int limit) {
  const std::string cutoff = clock::db_timestamp(paid_before_unix);
  auto candidates = db_.run("payment.orphan_candidates", [&](soci::session& s) {
    std::vector<std::string> orders;
    std::string order;
    soci::statement st =
        (s.prepare << kOrphanCandidates, soci::into(order), soci::use(cutoff), soci::use(limit));
    st.execute();
    while (st.fetch()) orders.push_back(order);
    return orders;
  });
  if (!candidates) return candidates.error();
  int refunded = 0;
  for (const auto& order : *candidates) {
    // No request asked for this refund: its trace starts here, and the refund worker's send
    // continues it.
    trace::Span span("payment.refund_orphan", trace::SpanKind::Internal, nullptr, "payment");
    const trace::Scope scope(span.context(), span.service());
    auto one = db_.transaction("payment.refund_orphan", [&](soci::session& s) -> Result<bool> {
      auto p = fetch(s, db_.pick(kByOrder, kByOrderForUpdate), order);
      // Attached (or refunded by another replica) since the scan: nothing to do.
      if (!p || p->status != "PAID" || p->booking_id) return false;
      queue_refund(s, db_.is_sqlite(), {p->payment_id, p->receipt_id.value_or(""), p->amount},
                   "payment attached to no booking");
      return true;
    });
    if (!one) return one.error();
    if (*one) ++refunded;
  }
  return refunded;
}

void queue_refund(soci::session& s, bool sqlite, const CapturedPayment& p,
                  const std::string& reason) {
  const std::string now = clock::db_now();
  // The trace of whatever queues the refund (a cancel request, a webhook, the orphan pass), for
  // the refund worker to continue.
  const std::string traceparent = trace::current_traceparent();
  soci::indicator traceparent_i = traceparent.empty() ? soci::i_null : soci::i_ok;
  s << kCancelPayment, soci::use(now), soci::use(p.payment_id);
  s << (sqlite ? kQueueRefundSqlite : kQueueRefundMysql), soci::use(p.payment_id),
      soci::use(p.receipt_id), soci::use(p.amount), soci::use(reason), soci::use(now),
      soci::use(now), soci::use(traceparent, traceparent_i);
}

int queue_refunds_in_transaction(soci::session& s, bool sqlite, long long booking_id,
                                 const std::string& reason) {
  std::vector<CapturedPayment> paid;
  {
    long long id = 0, amount = 0;
    std::string receipt;
    soci::indicator receipt_i;
    soci::statement st =
        (s.prepare << kPaidOfBooking, soci::into(id), soci::into(receipt, receipt_i),
         soci::into(amount), soci::use(booking_id));
    st.execute();
    while (st.fetch()) paid.push_back({id, receipt_i == soci::i_ok ? receipt : "", amount});
  }
  for (const auto& p : paid) queue_refund(s, sqlite, p, reason);
  return static_cast<int>(paid.size());
}

}  // namespace cj::payment

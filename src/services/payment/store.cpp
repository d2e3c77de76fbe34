#include "services/payment/store.hpp"

#include "core/clock.hpp"
#include "core/errors.hpp"

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
constexpr const char* kBookingOfUser =
    "SELECT total_amount FROM bookings WHERE booking_id = :b AND user_id = :u";
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
    "INSERT OR IGNORE INTO refund_outbox (payment_id, receipt_id, cancel_price, reason) "
    "VALUES (:p, :r, :a, :why)";
constexpr const char* kQueueRefundMysql =
    "INSERT IGNORE INTO refund_outbox (payment_id, receipt_id, cancel_price, reason) "
    "VALUES (:p, :r, :a, :why)";

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
    auto p = fetch(s, db_.pick(kByOrder, kByOrderForUpdate), order_id);
    if (!p) return payment_not_found();
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

Status PaymentStore::attach(long long user_id, const std::string& order_id, long long booking_id) {
  return db_.transaction("payment.attach", [&](soci::session& s) -> Status {
    auto p = fetch(s, db_.pick(kByOrder, kByOrderForUpdate), order_id);
    if (!p || p->user_id != user_id) return payment_not_found();
    long long booking_amount = 0;
    s << kBookingOfUser, soci::into(booking_amount), soci::use(booking_id), soci::use(user_id);
    if (!s.got_data()) return booking_not_found();
    if (booking_amount != p->amount) return amount_mismatch();
    if (p->booking_id) {
      if (*p->booking_id == booking_id) return ok_status();  // attaching again is harmless
      return already_attached();
    }
    long long others = 0;
    s << kOtherPaymentOfBooking, soci::into(others), soci::use(booking_id),
        soci::use(p->payment_id);
    if (others > 0) return already_attached();
    s << kAttach, soci::use(booking_id), soci::use(p->payment_id);
    return ok_status();
  });
}

int queue_refunds_in_transaction(soci::session& s, bool sqlite, long long booking_id,
                                 const std::string& reason) {
  struct Paid {
    long long id;
    std::string receipt;
    long long amount;
  };
  std::vector<Paid> paid;
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
  const std::string now = clock::db_now();
  for (const auto& p : paid) {
    s << kCancelPayment, soci::use(now), soci::use(p.id);
    s << (sqlite ? kQueueRefundSqlite : kQueueRefundMysql), soci::use(p.id), soci::use(p.receipt),
        soci::use(p.amount), soci::use(reason);
  }
  return static_cast<int>(paid.size());
}

}  // namespace cj::payment

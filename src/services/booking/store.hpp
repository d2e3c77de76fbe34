// Bookings in SQL: every verb is one transaction, and seat integrity lives in the database
// (seat_assignments' primary key, a guarded available_seats update, the schedule row locked).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"
#include "core/page.hpp"
#include "services/booking/model.hpp"
#include "services/booking/refunds.hpp"
#include "services/flight/catalog_invalidator.hpp"

namespace cj::booking {

using flight::RouteDate;
using flight::Written;

struct CancelOutcome {
  long long booking_id = 0;
  long long schedule_id = 0;
  std::string booking_number;
  RouteDate route;  // of the schedule (its search result shows the seats again)
  int refunds_queued = 0;
};

struct SeatMapOut {
  long long schedule_id = 0;
  int rows = 0;
  std::string letters;
  std::vector<std::string> occupied;
  long long available_seats = 0;
};

// Page::limit 0: no paging (capped by kMaxListed).
constexpr int kMaxListed = 500;

// How bookings are held and limited (BOOKING_HOLD_MINUTES, MAX_UNPAID_BOOKINGS_PER_USER).
struct HoldPolicy {
  int hold_minutes = 0;         // 0: a new booking is CONFIRMED at once
  int max_unpaid_per_user = 0;  // 0: no limit
};
// How long a booking's Idempotency-Key is remembered: a client retries within seconds or minutes;
// three days also covers a retry queue that outlived a weekend. After it the same key books anew.
constexpr std::int64_t kIdempotencyKeyTtlSeconds = std::int64_t{72} * 3600;
constexpr int kIdempotencyPurgeBatch = 1000;
// One purge pass deletes at most this many batches; the next pass goes on from there.
constexpr int kIdempotencyPurgeMaxBatches = 100;

class BookingStore {
 public:
  // `sales_cutoff_minutes`: a schedule cannot be booked this long before it departs.
  BookingStore(db::Db& db, int sales_cutoff_minutes, HoldPolicy holds = {})
      : db_(db), sales_cutoff_minutes_(sales_cutoff_minutes), holds_(holds) {}

  // `now`: the service clock, by which the schedule's sales cut-off and departure are judged.
  // Touches the schedule's search result and seat map (nothing for an idempotent replay).
  Result<Written<Created>> create(long long user_id, const NewBooking& in,
                                  const std::optional<std::string>& idempotency_key,
                                  const std::string& fingerprint, std::int64_t now);
  // user_id == nullopt: any user's booking (admin). `in_transaction` runs inside the same
  // transaction after the cancel (e.g. the admin audit record). A booking whose flight departed
  // at `now` (or that is COMPLETED) is not cancellable (409). Captured payments are queued for
  // refund through `refunds` in the same transaction.
  using CancelHook = std::function<void(soci::session&, const CancelOutcome&)>;
  Result<Written<CancelOutcome>> cancel(std::optional<long long> user_id,
                                        const std::string& booking_number, std::int64_t now,
                                        Refunds& refunds, const CancelHook& in_transaction = {});
  // Marks the CONFIRMED bookings of every flight that departed by `now` COMPLETED; returns how
  // many this call changed. Idempotent, and safe to run from every replica at once.
  Result<int> complete_departed(std::int64_t now);
  // Releases HELD bookings whose deadline passed by `now` (at most `limit`): seats and
  // available_seats back, status EXPIRED, in one transaction each. Each booking is decided under
  // its schedule's lock, so replicas sweeping at once release each hold once; the outcomes (for
  // cache invalidation) are the ones this call released.
  Result<std::vector<Written<CancelOutcome>>> expire_holds(std::int64_t now, int limit,
                                                           Refunds& refunds);
  Result<std::vector<BookingOut>> list_for_user(long long user_id, Page page);
  Result<std::vector<std::string>> occupied_seats(long long schedule_id);
  Result<std::optional<SeatMapOut>> seat_map(long long schedule_id);
  // Deletes the idempotency keys created more than kIdempotencyKeyTtlSeconds before `now`, in
  // batches of kIdempotencyPurgeBatch rows (each its own short statement, so bookings never wait
  // long behind it); returns how many it deleted. Safe on every replica at once.
  Result<long long> purge_idempotency_keys(std::int64_t now);

 private:
  Result<std::optional<Created>> replay(long long user_id, const std::string& key,
                                        const std::string& fingerprint);
  [[nodiscard]] Status check_on_sale(const std::string& date, const std::string& departure_time,
                                     const std::string& zone, std::int64_t now) const;
  // Inside a transaction that holds the schedule lock and has re-checked the booking: seats back,
  // the booking to `final_status`, its captured payments to refund.
  void release_in_transaction(soci::session& s, CancelOutcome& out, const char* final_status,
                              Refunds& refunds, const std::string& refund_reason);
  db::Db& db_;
  int sales_cutoff_minutes_;
  HoldPolicy holds_;
};

// After a cancel or an expired hold committed: the search result and the seat map show the seats
// again, and the refunds it queued go out now.
CancelOutcome finish_release(Written<CancelOutcome> released, flight::CatalogInvalidator& catalog,
                             Refunds& refunds);

}  // namespace cj::booking

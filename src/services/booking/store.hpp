// Bookings in SQL: every verb is one transaction, and seat integrity lives in the database
// (seat_assignments' primary key, a guarded available_seats update, the schedule row locked).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"
#include "http/paging.hpp"
#include "services/booking/model.hpp"

namespace cj::booking {

// What a write touched, so the caller can invalidate the flight-search cache after commit.
struct RouteDate {
  std::string departure;
  std::string arrival;
  std::string date;
};

struct CreateOutcome {
  Created created;
  std::optional<RouteDate> touched;  // unset for an idempotent replay
};

struct CancelOutcome {
  long long booking_id = 0;
  long long schedule_id = 0;
  std::string booking_number;
  RouteDate touched;
  int refunds_queued = 0;
};

struct SeatMapOut {
  long long schedule_id = 0;
  int rows = 0;
  std::string letters;
  std::vector<std::string> occupied;
  long long available_seats = 0;
};

using Page = http::Page;  // limit 0: no paging (capped by kMaxListed)
constexpr int kMaxListed = 500;

// How bookings are held and limited (BOOKING_HOLD_MINUTES, MAX_UNPAID_BOOKINGS_PER_USER).
struct HoldPolicy {
  int hold_minutes = 0;         // 0: a new booking is CONFIRMED at once
  int max_unpaid_per_user = 0;  // 0: no limit
};

class BookingStore {
 public:
  // `sales_cutoff_minutes`: a schedule cannot be booked this long before it departs.
  BookingStore(db::Db& db, int sales_cutoff_minutes, HoldPolicy holds = {})
      : db_(db), sales_cutoff_minutes_(sales_cutoff_minutes), holds_(holds) {}

  // `now`: the service clock, by which the schedule's sales cut-off and departure are judged.
  Result<CreateOutcome> create(long long user_id, const NewBooking& in,
                               const std::optional<std::string>& idempotency_key,
                               const std::string& fingerprint, std::int64_t now);
  // user_id == nullopt: any user's booking (admin). `in_transaction` runs inside the same
  // transaction after the cancel (e.g. the admin audit record). A booking whose flight departed
  // at `now` (or that is COMPLETED) is not cancellable (409).
  using CancelHook = std::function<void(soci::session&, const CancelOutcome&)>;
  Result<CancelOutcome> cancel(std::optional<long long> user_id, const std::string& booking_number,
                               std::int64_t now, const CancelHook& in_transaction = {});
  // Marks the CONFIRMED bookings of every flight that departed by `now` COMPLETED; returns how
  // many this call changed. Idempotent, and safe to run from every replica at once.
  Result<int> complete_departed(std::int64_t now);
  // Releases HELD bookings whose deadline passed by `now` (at most `limit`): seats and
  // available_seats back, status EXPIRED, in one transaction each. Each booking is decided under
  // its schedule's lock, so replicas sweeping at once release each hold once; the outcomes (for
  // cache invalidation) are the ones this call released.
  Result<std::vector<CancelOutcome>> expire_holds(std::int64_t now, int limit);
  Result<std::vector<BookingOut>> list_for_user(long long user_id, Page page);
  Result<std::vector<std::string>> occupied_seats(long long schedule_id);
  Result<std::optional<SeatMapOut>> seat_map(long long schedule_id);

 private:
  Result<std::optional<Created>> replay(long long user_id, const std::string& key,
                                        const std::string& fingerprint);
  [[nodiscard]] Status check_on_sale(const std::string& date, const std::string& departure_time,
                                     const std::string& zone, std::int64_t now) const;
  // Inside a transaction that holds the schedule lock and has re-checked the booking: seats back,
  // the booking to `final_status`, its captured payments to refund.
  void release_in_transaction(soci::session& s, CancelOutcome& out, const char* final_status,
                              const std::string& refund_reason);
  db::Db& db_;
  int sales_cutoff_minutes_;
  HoldPolicy holds_;
};

}  // namespace cj::booking

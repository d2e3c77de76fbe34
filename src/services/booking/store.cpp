#include "services/booking/store.hpp"

#include <algorithm>
#include <map>

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "services/booking/rules.hpp"
#include "services/flight/model.hpp"
#include "services/flight/rules.hpp"

namespace cj::booking {
namespace {

constexpr const char* kLockScheduleSqlite =
    "SELECT flight_id, flight_date, status, current_price, available_seats "
    "FROM flight_schedules WHERE schedule_id = :id";
// The schedule row is the lock every booking and cancel of that flight date queues on.
constexpr const char* kLockScheduleMysql =
    "SELECT flight_id, flight_date, status, current_price, available_seats "
    "FROM flight_schedules WHERE schedule_id = :id FOR UPDATE";
// SQLite: the writer already holds the database lock (BEGIN IMMEDIATE), so schedule, flight and
// discount come in one statement.
constexpr const char* kScheduleForBookingSqlite =
    "SELECT fs.flight_id, fs.flight_date, fs.status, fs.current_price, fs.available_seats, "
    "f.departure_airport, f.arrival_airport, f.total_seats, f.is_active, f.departure_time, "
    "a.time_zone, "
    "(SELECT MAX(d.discount_percentage) FROM flight_discounts d "
    " WHERE d.schedule_id = fs.schedule_id AND d.status = 'ACTIVE') "
    "FROM flight_schedules fs JOIN flights f ON f.flight_id = fs.flight_id "
    "JOIN airports a ON a.airport_code = f.departure_airport "
    "WHERE fs.schedule_id = :id";
// With the departure airport's time zone: the schedule departs at flight_date + departure_time
// on that airport's wall clock.
constexpr const char* kFlightOfSchedule =
    "SELECT f.departure_airport, f.arrival_airport, f.total_seats, f.is_active, f.departure_time, "
    "a.time_zone FROM flights f JOIN airports a ON a.airport_code = f.departure_airport "
    "WHERE f.flight_id = :f";
constexpr const char* kActiveDiscount =
    "SELECT MAX(discount_percentage) FROM flight_discounts "
    "WHERE schedule_id = :id AND status = 'ACTIVE'";
constexpr const char* kInsertBooking =
    "INSERT INTO bookings (booking_number, user_id, schedule_id, seat_number, total_amount, "
    "contact_email, contact_phone, payment_method, status, hold_expires_at, created_at) "
    "VALUES (:num, :u, :s, :seat, :amount, :email, :phone, :method, :status, :hold, :now)";
constexpr const char* kInsertSeat =
    "INSERT INTO seat_assignments (schedule_id, seat_number, booking_id) VALUES (:s, :seat, :b)";
constexpr const char* kInsertPassenger =
    "INSERT INTO passengers (booking_id, name_kor, name_eng, birth_date, gender, seat_number) "
    "VALUES (:b, :name, :name_en, :birth, :gender, :seat)";
constexpr const char* kTakeSeats =
    "UPDATE flight_schedules SET available_seats = available_seats - :n "
    "WHERE schedule_id = :id AND available_seats >= :n2";
constexpr const char* kInsertIdempotency =
    "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, booking_id, booking_number, "
    "created_at) VALUES (:u, :k, :h, :b, :num, :now)";
constexpr const char* kSelectIdempotency =
    "SELECT request_hash, booking_id, booking_number FROM idempotency_keys "
    "WHERE user_id = :u AND idem_key = :k";
// A replay answers with the booking as it is now (a hold may have been paid or have expired).
constexpr const char* kReplayIdempotency =
    "SELECT k.request_hash, k.booking_id, k.booking_number, b.status, b.hold_expires_at "
    "FROM idempotency_keys k JOIN bookings b ON b.booking_id = k.booking_id "
    "WHERE k.user_id = :u AND k.idem_key = :k";
// MAX_UNPAID_BOOKINGS_PER_USER: live bookings of the user without a captured payment. MySQL locks
// the user's row first, so two concurrent creates of one user cannot both pass the count (SQLite's
// writer lock already serialises them).
constexpr const char* kLockUserMysql = "SELECT user_id FROM users WHERE user_id = :u FOR UPDATE";
constexpr const char* kCountUnpaid =
    "SELECT COUNT(*) FROM bookings b WHERE b.user_id = :u AND b.status IN ('HELD', 'CONFIRMED') "
    "AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.booking_id = b.booking_id "
    "AND p.status = 'PAID')";

// COMPLETED bookings are found too, to answer "not cancellable" (409) rather than "not found".
constexpr const char* kFindBookingOfUser =
    "SELECT booking_id, schedule_id, status FROM bookings WHERE booking_number = :n "
    "AND user_id = :u AND status IN ('HELD', 'CONFIRMED', 'COMPLETED')";
constexpr const char* kFindBookingAny =
    "SELECT booking_id, schedule_id, status FROM bookings WHERE booking_number = :n "
    "AND status IN ('HELD', 'CONFIRMED', 'COMPLETED')";
constexpr const char* kRecheckBookingSqlite = "SELECT status FROM bookings WHERE booking_id = :b";
constexpr const char* kRecheckBookingMysql =
    "SELECT status FROM bookings WHERE booking_id = :b FOR UPDATE";
// Holds past their deadline, oldest first; each is re-checked under its schedule's lock.
constexpr const char* kExpiredHolds =
    "SELECT booking_id, booking_number, schedule_id FROM bookings "
    "WHERE status = 'HELD' AND hold_expires_at <= :now ORDER BY hold_expires_at LIMIT :lim";
constexpr const char* kRecheckHoldSqlite =
    "SELECT status, hold_expires_at FROM bookings WHERE booking_id = :b";
constexpr const char* kRecheckHoldMysql =
    "SELECT status, hold_expires_at FROM bookings WHERE booking_id = :b FOR UPDATE";
constexpr const char* kCountPassengers = "SELECT COUNT(*) FROM passengers WHERE booking_id = :b";
constexpr const char* kFreeSeats = "DELETE FROM seat_assignments WHERE booking_id = :b";
constexpr const char* kReturnSeats =
    "UPDATE flight_schedules SET available_seats = available_seats + :n WHERE schedule_id = :id";
// CANCELLED or EXPIRED; an expired hold keeps its deadline, so the traveller sees when it lapsed.
constexpr const char* kMarkReleased = "UPDATE bookings SET status = :st WHERE booking_id = :b";

constexpr const char* kListBookings =
    "SELECT b.booking_id, b.booking_number, b.seat_number, b.total_amount, b.contact_email, "
    "b.contact_phone, b.payment_method, b.status, b.created_at, b.hold_expires_at, "
    "fs.flight_date, f.flight_id, "
    "f.airline, f.departure_airport, f.arrival_airport, f.departure_time, f.arrival_time, "
    "f.duration, f.aircraft, da.airport_name, aa.airport_name "
    "FROM bookings b "
    "JOIN flight_schedules fs ON fs.schedule_id = b.schedule_id "
    "JOIN flights f ON f.flight_id = fs.flight_id "
    "JOIN airports da ON da.airport_code = f.departure_airport "
    "JOIN airports aa ON aa.airport_code = f.arrival_airport "
    "WHERE b.user_id = :u ORDER BY b.created_at DESC, b.booking_id DESC LIMIT :lim OFFSET :off";
constexpr const char* kListPassengers =
    "SELECT p.booking_id, p.name_kor, p.name_eng, p.birth_date, p.gender, p.seat_number "
    "FROM passengers p JOIN bookings b ON b.booking_id = p.booking_id "
    "WHERE b.user_id = :u ORDER BY p.passenger_id";
constexpr const char* kOccupied =
    "SELECT seat_number FROM seat_assignments WHERE schedule_id = :id";
constexpr const char* kScheduleSeats =
    "SELECT f.total_seats, fs.available_seats FROM flight_schedules fs "
    "JOIN flights f ON f.flight_id = fs.flight_id WHERE fs.schedule_id = :id";

// Schedules that may have departed (flight_date up to tomorrow in UTC: no zone is more than a
// day ahead of UTC) and still have CONFIRMED bookings; whether each departed is decided with its
// airport's zone. Driven from the schedules (date index, then bookings by schedule) so the pass
// does not scan every booking.
constexpr const char* kDepartedCandidates =
    "SELECT fs.schedule_id, fs.flight_date, f.departure_time, a.time_zone "
    "FROM flight_schedules fs JOIN flights f ON f.flight_id = fs.flight_id "
    "JOIN airports a ON a.airport_code = f.departure_airport "
    "WHERE fs.flight_date <= :d AND EXISTS (SELECT 1 FROM bookings b "
    "WHERE b.schedule_id = fs.schedule_id AND b.status = 'CONFIRMED')";
// Idempotent and safe on N replicas: a booking another process (or a cancel) got to first no
// longer matches, so each booking changes once and the affected-row counts add up.
constexpr const char* kCompleteBookings =
    "UPDATE bookings SET status = 'COMPLETED' WHERE schedule_id = :s AND status = 'CONFIRMED'";

constexpr int kBookingNumberAttempts = 5;

std::optional<std::string> opt(const std::string& v, soci::indicator ind) {
  if (ind != soci::i_ok) return std::nullopt;
  return v;
}

// Internal marker: two requests with the same Idempotency-Key raced; the loser replays.
constexpr const char* kIdempotencyRace = "idempotency_race";

std::vector<std::string> fetch_occupied(soci::session& s, long long schedule_id) {
  std::vector<std::string> seats;
  std::string seat;
  soci::statement st = (s.prepare << kOccupied, soci::into(seat), soci::use(schedule_id));
  st.execute();
  while (st.fetch()) seats.push_back(seat);
  sort_seats(seats);
  return seats;
}

// Cancel and the hold sweeper: locks the schedule row (the lock order everywhere: the schedule,
// then the booking) and reads its flight's route (for the caches) and departure.
using Booked = Written<Created>;
using Released = Written<CancelOutcome>;

// A release gives the seats back: its search result and its seat map change.
Written<CancelOutcome> released(CancelOutcome out) {
  flight::Touched touched{{out.route}, {out.schedule_id}};
  return Written<CancelOutcome>{std::move(out), std::move(touched)};
}

struct ScheduleToRelease {
  RouteDate touched;
  std::string departure_time;
  std::string zone;
};

ScheduleToRelease lock_schedule_to_release(soci::session& s, const char* lock_sql,
                                           long long schedule_id) {
  std::string flight_id;
  std::string date;
  std::string status;
  long long price = 0;
  long long available = 0;
  s << lock_sql, soci::into(flight_id), soci::into(date), soci::into(status), soci::into(price),
      soci::into(available), soci::use(schedule_id);
  ScheduleToRelease out;
  int total_seats = 0;
  int active = 0;
  s << kFlightOfSchedule, soci::into(out.touched.departure), soci::into(out.touched.arrival),
      soci::into(total_seats), soci::into(active), soci::into(out.departure_time),
      soci::into(out.zone), soci::use(flight_id);
  out.touched.date = date.substr(0, 10);
  return out;
}

}  // namespace

Result<std::optional<Created>> BookingStore::replay(long long user_id, const std::string& key,
                                                    const std::string& fingerprint) {
  return db_.run("booking.idempotency_lookup",
                 [&](soci::session& s) -> Result<std::optional<Created>> {
                   std::string hash;
                   std::string hold;
                   soci::indicator hold_i = soci::i_null;
                   Created c;
                   s << kReplayIdempotency, soci::into(hash), soci::into(c.booking_id),
                       soci::into(c.booking_number), soci::into(c.status), soci::into(hold, hold_i),
                       soci::use(user_id), soci::use(key);
                   if (!s.got_data()) return std::optional<Created>{};
                   if (hash != fingerprint) return idempotency_conflict();
                   if (hold_i == soci::i_ok && c.status == "HELD") {
                     c.hold_expires_at = clock::iso_timestamp(hold);
                   }
                   c.replayed = true;
                   return std::optional<Created>{c};
                 });
}

Status BookingStore::check_on_sale(const std::string& date, const std::string& departure_time,
                                   const std::string& zone, std::int64_t now) const {
  auto departs = flight::departure_instant(date, departure_time, zone);
  if (!departs) return departs.error();
  switch (flight::sales_state(*departs, now, sales_cutoff_minutes_ * 60)) {
    case flight::Sales::Open: return ok_status();
    case flight::Sales::Closed: return sales_closed(sales_cutoff_minutes_);
    case flight::Sales::Departed: return flight_departed();
  }
  return flight_departed();
}

Result<Written<Created>> BookingStore::create(long long user_id, const NewBooking& in,
                                              const std::optional<std::string>& idempotency_key,
                                              const std::string& fingerprint, std::int64_t now) {
  if (idempotency_key) {
    auto previous = replay(user_id, *idempotency_key, fingerprint);
    if (!previous) return previous.error();
    if (*previous) return Written<Created>{**previous, {}};
  }
  const long long passengers = static_cast<long long>(in.passengers.size());
  auto outcome = db_.transaction("booking.create", [&](soci::session& s) -> Result<Booked> {
    if (holds_.max_unpaid_per_user > 0) {
      if (!db_.is_sqlite()) {
        long long locked = 0;
        s << kLockUserMysql, soci::into(locked), soci::use(user_id);
      }
      long long unpaid = 0;
      s << kCountUnpaid, soci::into(unpaid), soci::use(user_id);
      if (unpaid >= holds_.max_unpaid_per_user) {
        return too_many_unpaid_bookings(holds_.max_unpaid_per_user);
      }
    }
    std::string flight_id;
    std::string date;
    std::string status;
    long long price = 0;
    long long available = 0;
    RouteDate touched;
    int total_seats = 0;
    int active = 0;
    std::string departure_time;
    std::string zone;
    int discount = 0;
    soci::indicator discount_ind = soci::i_null;
    if (db_.is_sqlite()) {
      s << kScheduleForBookingSqlite, soci::into(flight_id), soci::into(date), soci::into(status),
          soci::into(price), soci::into(available), soci::into(touched.departure),
          soci::into(touched.arrival), soci::into(total_seats), soci::into(active),
          soci::into(departure_time), soci::into(zone), soci::into(discount, discount_ind),
          soci::use(in.schedule_id);
      if (!s.got_data()) return schedule_not_found();
    } else {
      // Lock only the schedule row (locking the flight row too would serialise every date of
      // a flight), then read the rest.
      s << kLockScheduleMysql, soci::into(flight_id), soci::into(date), soci::into(status),
          soci::into(price), soci::into(available), soci::use(in.schedule_id);
      if (!s.got_data()) return schedule_not_found();
      s << kFlightOfSchedule, soci::into(touched.departure), soci::into(touched.arrival),
          soci::into(total_seats), soci::into(active), soci::into(departure_time), soci::into(zone),
          soci::use(flight_id);
      s << kActiveDiscount, soci::into(discount, discount_ind), soci::use(in.schedule_id);
    }
    date = date.substr(0, 10);
    touched.date = date;
    if (idempotency_key) {
      // A retry that raced the first attempt waited on the schedule lock above; now that the
      // first attempt committed, its key is visible: answer with that booking, not seat_taken.
      std::string hash;
      long long id = 0;
      std::string number;
      s << kSelectIdempotency, soci::into(hash), soci::into(id), soci::into(number),
          soci::use(user_id), soci::use(*idempotency_key);
      if (s.got_data()) return Error{409, kIdempotencyRace, "", "", ""};
    }
    if (status != "ACTIVE" || active == 0) return schedule_unavailable();
    // Judged under the schedule lock, by the instant it departs (not by its date).
    if (auto st = check_on_sale(date, departure_time, zone, now); !st) return st.error();
    const long long unit =
        discount_ind == soci::i_ok ? flight::discounted_price(price, discount) : price;
    if (in.total_amount != unit * passengers) return price_changed(unit, unit * passengers);

    if (available < passengers) return not_enough_seats();
    const SeatMap map = seat_map_for(total_seats);
    for (const auto& seat : in.seats) {
      if (!map.contains(seat)) return invalid_seat(seat);
    }

    const std::optional<std::string> first_seat =
        in.seats.empty() ? std::nullopt : std::optional<std::string>(in.seats.front());
    soci::indicator seat_ind = first_seat ? soci::i_ok : soci::i_null;
    const std::string seat_value = first_seat.value_or("");
    const std::string created_at = clock::db_timestamp(now);
    Created created;
    created.status = "CONFIRMED";
    std::string hold_until;
    soci::indicator hold_ind = soci::i_null;
    if (holds_.hold_minutes > 0) {
      // Pay within the hold, and never after sales close: a hold cannot outlive the flight's
      // sales (check_on_sale above passed, so the deadline is in the future).
      auto departs = flight::departure_instant(date, departure_time, zone);
      if (!departs) return departs.error();
      const std::int64_t deadline =
          std::min<std::int64_t>(now + std::int64_t{holds_.hold_minutes} * 60,
                                 *departs - std::int64_t{sales_cutoff_minutes_} * 60);
      hold_until = clock::db_timestamp(deadline);
      hold_ind = soci::i_ok;
      created.status = "HELD";
      created.hold_expires_at = clock::iso_timestamp(hold_until);
    }
    for (int attempt = 0;; ++attempt) {
      created.booking_number = new_booking_number();
      try {
        s << kInsertBooking, soci::use(created.booking_number), soci::use(user_id),
            soci::use(in.schedule_id), soci::use(seat_value, seat_ind), soci::use(in.total_amount),
            soci::use(in.contact_email), soci::use(in.contact_phone), soci::use(in.payment_method),
            soci::use(created.status), soci::use(hold_until, hold_ind), soci::use(created_at);
        break;
      } catch (const soci::soci_error& e) {
        // A booking-number collision (36^8 space): draw again.
        if (!db::is_unique_violation(e) || attempt + 1 >= kBookingNumberAttempts) throw;
      }
    }
    s.get_last_insert_id("bookings", created.booking_id);

    for (const auto& seat : in.seats) {
      try {
        s << kInsertSeat, soci::use(in.schedule_id), soci::use(seat), soci::use(created.booking_id);
      } catch (const soci::soci_error& e) {
        if (db::is_unique_violation(e)) return seat_taken(seat);
        throw;
      }
    }
    for (std::size_t i = 0; i < in.passengers.size(); ++i) {
      const auto& p = in.passengers[i];
      const std::string name_en = p.name_en.value_or("");
      soci::indicator name_en_ind = p.name_en ? soci::i_ok : soci::i_null;
      const bool seated = i < in.seats.size();
      const std::string seat = seated ? in.seats[i] : "";
      soci::indicator pseat_ind = seated ? soci::i_ok : soci::i_null;
      s << kInsertPassenger, soci::use(created.booking_id), soci::use(p.name),
          soci::use(name_en, name_en_ind), soci::use(p.birth), soci::use(p.gender),
          soci::use(seat, pseat_ind);
    }

    soci::statement take = (s.prepare << kTakeSeats, soci::use(passengers),
                            soci::use(in.schedule_id), soci::use(passengers));
    take.execute(true);
    if (take.get_affected_rows() != 1) return not_enough_seats();

    if (idempotency_key) {
      try {
        s << kInsertIdempotency, soci::use(user_id), soci::use(*idempotency_key),
            soci::use(fingerprint), soci::use(created.booking_id),
            soci::use(created.booking_number), soci::use(created_at);
      } catch (const soci::soci_error& e) {
        if (db::is_unique_violation(e)) return Error{409, kIdempotencyRace, "", "", ""};
        throw;
      }
    }
    return Written<Created>{created, flight::Touched{{touched}, {in.schedule_id}}};
  });
  if (!outcome && outcome.error().code == kIdempotencyRace && idempotency_key) {
    auto previous = replay(user_id, *idempotency_key, fingerprint);
    if (!previous) return previous.error();
    if (*previous) return Written<Created>{**previous, {}};
    return errors::internal();
  }
  return outcome;
}

Result<Written<CancelOutcome>> BookingStore::cancel(std::optional<long long> user_id,
                                                    const std::string& booking_number,
                                                    std::int64_t now, Refunds& refunds,
                                                    const CancelHook& in_transaction) {
  return db_.transaction("booking.cancel", [&](soci::session& s) -> Result<Released> {
    CancelOutcome out;
    out.booking_number = booking_number;
    long long schedule_id = 0;
    std::string booking_status;
    if (user_id) {
      s << kFindBookingOfUser, soci::into(out.booking_id), soci::into(schedule_id),
          soci::into(booking_status), soci::use(booking_number), soci::use(*user_id);
    } else {
      s << kFindBookingAny, soci::into(out.booking_id), soci::into(schedule_id),
          soci::into(booking_status), soci::use(booking_number);
    }
    if (!s.got_data()) return booking_not_cancellable();
    if (booking_status == "COMPLETED") return not_cancellable();
    out.schedule_id = schedule_id;

    // Same lock order as create (schedule first), then re-check under the lock: a concurrent
    // cancel of the same booking must not return its seats twice, and a booking the completion
    // job just closed is not cancelled.
    const ScheduleToRelease sched =
        lock_schedule_to_release(s, db_.pick(kLockScheduleSqlite, kLockScheduleMysql), schedule_id);
    s << db_.pick(kRecheckBookingSqlite, kRecheckBookingMysql), soci::into(booking_status),
        soci::use(out.booking_id);
    if (booking_status == "COMPLETED") return not_cancellable();
    if (booking_status != "CONFIRMED" && booking_status != "HELD") return booking_not_cancellable();
    out.route = sched.touched;
    // A flight that has left is not refunded by a cancel (up to departure a cancel is allowed,
    // the sales cut-off does not apply to it).
    auto departs = flight::departure_instant(out.route.date, sched.departure_time, sched.zone);
    if (!departs) return departs.error();
    if (flight::sales_state(*departs, now, 0) == flight::Sales::Departed) return not_cancellable();

    release_in_transaction(s, out, "CANCELLED", refunds,
                           user_id ? "customer cancelled" : "cancelled by admin");
    if (in_transaction) in_transaction(s, out);
    return released(std::move(out));
  });
}

void BookingStore::release_in_transaction(soci::session& s, CancelOutcome& out,
                                          const char* final_status, Refunds& refunds,
                                          const std::string& refund_reason) {
  long long passengers = 0;
  const std::string status = final_status;
  s << kCountPassengers, soci::into(passengers), soci::use(out.booking_id);
  s << kFreeSeats, soci::use(out.booking_id);
  s << kReturnSeats, soci::use(passengers), soci::use(out.schedule_id);
  s << kMarkReleased, soci::use(status), soci::use(out.booking_id);
  // A PAID payment of this booking becomes CANCELLED and its refund is queued, in this same
  // transaction, so a committed release never loses its refund.
  out.refunds_queued = refunds.queue_in_transaction(s, out.booking_id, refund_reason);
}

Result<std::vector<Written<CancelOutcome>>> BookingStore::expire_holds(std::int64_t now, int limit,
                                                                       Refunds& refunds) {
  struct Due {
    long long booking_id = 0;
    std::string booking_number;
    long long schedule_id = 0;
  };
  const std::string now_text = clock::db_timestamp(now);
  auto due = db_.run("booking.expired_holds", [&](soci::session& s) {
    std::vector<Due> out;
    Due d;
    soci::statement st =
        (s.prepare << kExpiredHolds, soci::into(d.booking_id), soci::into(d.booking_number),
         soci::into(d.schedule_id), soci::use(now_text), soci::use(limit));
    st.execute();
    while (st.fetch()) out.push_back(d);
    return out;
  });
  if (!due) return due.error();
  std::vector<Written<CancelOutcome>> out_list;
  for (const auto& d : *due) {
    auto one = db_.transaction(
        "booking.expire_hold", [&](soci::session& s) -> Result<std::optional<CancelOutcome>> {
          const ScheduleToRelease sched = lock_schedule_to_release(
              s, db_.pick(kLockScheduleSqlite, kLockScheduleMysql), d.schedule_id);
          std::string booking_status;
          std::string deadline;
          soci::indicator deadline_i = soci::i_null;
          s << db_.pick(kRecheckHoldSqlite, kRecheckHoldMysql), soci::into(booking_status),
              soci::into(deadline, deadline_i), soci::use(d.booking_id);
          // Paid, cancelled or released by another replica since the scan: not ours to release.
          if (booking_status != "HELD" || deadline_i != soci::i_ok ||
              deadline.substr(0, 19) > now_text) {
            return std::optional<CancelOutcome>{};
          }
          CancelOutcome out;
          out.booking_id = d.booking_id;
          out.booking_number = d.booking_number;
          out.schedule_id = d.schedule_id;
          out.route = sched.touched;
          release_in_transaction(s, out, "EXPIRED", refunds, "booking hold expired");
          return std::optional<CancelOutcome>{out};
        });
    if (!one) return one.error();
    if (*one) out_list.push_back(released(std::move(**one)));
  }
  return out_list;
}

Result<int> BookingStore::complete_departed(std::int64_t now) {
  struct Candidate {
    long long schedule_id = 0;
    std::string date;
    std::string departure_time;
    std::string zone;
  };
  auto candidates =
      db_.run("booking.departed_candidates", [&](soci::session& s) -> std::vector<Candidate> {
        const std::string until = clock::add_days(clock::utc_date(now), 1);
        std::vector<Candidate> out;
        Candidate c;
        soci::statement st =
            (s.prepare << kDepartedCandidates, soci::into(c.schedule_id), soci::into(c.date),
             soci::into(c.departure_time), soci::into(c.zone), soci::use(until));
        st.execute();
        while (st.fetch()) out.push_back(c);
        return out;
      });
  if (!candidates) return candidates.error();
  int completed = 0;
  for (const auto& c : *candidates) {
    auto departs = flight::departure_instant(c.date.substr(0, 10), c.departure_time, c.zone);
    if (!departs || *departs > now) continue;
    // One short statement per schedule: it waits for (and then skips) a booking a cancel holds.
    auto n = db_.run("booking.complete", [&](soci::session& s) {
      soci::statement st = (s.prepare << kCompleteBookings, soci::use(c.schedule_id));
      st.execute(true);
      return static_cast<int>(st.get_affected_rows());
    });
    if (!n) return n.error();
    completed += *n;
  }
  return completed;
}

Result<std::vector<BookingOut>> BookingStore::list_for_user(long long user_id, Page page) {
  return db_.run("booking.list", [&](soci::session& s) {
    std::vector<BookingOut> out;
    std::map<long long, std::size_t> index;
    const int limit = page.limit > 0 ? page.limit : kMaxListed;
    const int offset = page.limit > 0 ? page.offset : 0;
    {
      BookingOut b;
      std::string seat, email, phone, method, duration, aircraft, hold;
      soci::indicator seat_i, email_i, phone_i, method_i, duration_i, aircraft_i, hold_i;
      soci::statement st(s);
      st.exchange(soci::into(b.booking_id));
      st.exchange(soci::into(b.booking_number));
      st.exchange(soci::into(seat, seat_i));
      st.exchange(soci::into(b.total_amount));
      st.exchange(soci::into(email, email_i));
      st.exchange(soci::into(phone, phone_i));
      st.exchange(soci::into(method, method_i));
      st.exchange(soci::into(b.status));
      st.exchange(soci::into(b.created_at));
      st.exchange(soci::into(hold, hold_i));
      st.exchange(soci::into(b.flight_date));
      st.exchange(soci::into(b.flight_id));
      st.exchange(soci::into(b.airline));
      st.exchange(soci::into(b.departure_airport));
      st.exchange(soci::into(b.arrival_airport));
      st.exchange(soci::into(b.departure_time));
      st.exchange(soci::into(b.arrival_time));
      st.exchange(soci::into(duration, duration_i));
      st.exchange(soci::into(aircraft, aircraft_i));
      st.exchange(soci::into(b.departure_name));
      st.exchange(soci::into(b.arrival_name));
      st.exchange(soci::use(user_id));
      st.exchange(soci::use(limit));
      st.exchange(soci::use(offset));
      st.alloc();
      st.prepare(kListBookings);
      st.define_and_bind();
      st.execute();
      while (st.fetch()) {
        BookingOut row = b;
        row.seat_number = opt(seat, seat_i);
        row.contact_email = opt(email, email_i);
        row.contact_phone = opt(phone, phone_i);
        row.payment_method = opt(method, method_i);
        row.duration = opt(duration, duration_i);
        row.aircraft = opt(aircraft, aircraft_i);
        row.created_at = clock::iso_timestamp(row.created_at);
        if (auto h = opt(hold, hold_i)) row.hold_expires_at = clock::iso_timestamp(*h);
        row.flight_date = row.flight_date.substr(0, 10);
        index[row.booking_id] = out.size();
        out.push_back(std::move(row));
      }
    }
    if (out.empty()) return out;
    PassengerOut p;
    std::string name_en, birth, gender, seat;
    soci::indicator name_en_i, birth_i, gender_i, seat_i;
    soci::statement st =
        (s.prepare << kListPassengers, soci::into(p.booking_id), soci::into(p.name_kor),
         soci::into(name_en, name_en_i), soci::into(birth, birth_i), soci::into(gender, gender_i),
         soci::into(seat, seat_i), soci::use(user_id));
    st.execute();
    while (st.fetch()) {
      auto it = index.find(p.booking_id);
      if (it == index.end()) continue;  // a booking outside the requested page
      PassengerOut row = p;
      row.name_eng = opt(name_en, name_en_i);
      row.birth_date = opt(birth.substr(0, 10), birth_i);
      row.gender = opt(gender, gender_i);
      row.seat_number = opt(seat, seat_i);
      out[it->second].passengers.push_back(std::move(row));
    }
    return out;
  });
}

Result<std::vector<std::string>> BookingStore::occupied_seats(long long schedule_id) {
  return db_.run("booking.occupied",
                 [&](soci::session& s) { return fetch_occupied(s, schedule_id); });
}

Result<std::optional<SeatMapOut>> BookingStore::seat_map(long long schedule_id) {
  return db_.run("booking.seat_map", [&](soci::session& s) -> std::optional<SeatMapOut> {
    int total_seats = 0;
    SeatMapOut out;
    s << kScheduleSeats, soci::into(total_seats), soci::into(out.available_seats),
        soci::use(schedule_id);
    if (!s.got_data()) return std::nullopt;
    const SeatMap map = seat_map_for(total_seats);
    out.schedule_id = schedule_id;
    out.rows = map.rows;
    out.letters = map.letters;
    out.occupied = fetch_occupied(s, schedule_id);
    return out;
  });
}

namespace {

// Oldest first through the created_at index, a bounded batch per statement. SQLite has no
// DELETE … LIMIT (unless compiled with it), hence the rowid subquery.
constexpr const char* kPurgeIdempotencySqlite =
    "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys "
    "WHERE created_at < :cutoff ORDER BY created_at LIMIT :n)";
constexpr const char* kPurgeIdempotencyMysql =
    "DELETE FROM idempotency_keys WHERE created_at < :cutoff ORDER BY created_at LIMIT :n";

}  // namespace

Result<long long> BookingStore::purge_idempotency_keys(std::int64_t now) {
  // Same format as the rows were written with (clock::db_timestamp), so the comparison is exact
  // on both backends (text on SQLite, DATETIME on MySQL).
  const std::string cutoff = clock::db_timestamp(now - kIdempotencyKeyTtlSeconds);
  const int batch = kIdempotencyPurgeBatch;
  long long purged = 0;
  for (int i = 0; i < kIdempotencyPurgeMaxBatches; ++i) {
    auto n = db_.write("booking.purge_idempotency_keys", [&](soci::session& s) {
      soci::statement st = (s.prepare << db_.pick(kPurgeIdempotencySqlite, kPurgeIdempotencyMysql),
                            soci::use(cutoff), soci::use(batch));
      st.execute(true);
      return static_cast<long long>(st.get_affected_rows());
    });
    if (!n) return n.error();
    purged += *n;
    if (*n < batch) break;
  }
  return purged;
}

}  // namespace cj::booking

namespace cj::booking {

CancelOutcome finish_release(Written<CancelOutcome> released, flight::CatalogInvalidator& catalog,
                             Refunds& refunds) {
  CancelOutcome out = catalog.apply(std::move(released));
  if (out.refunds_queued > 0) refunds.send_queued(out.refunds_queued);
  return out;
}

}  // namespace cj::booking

#include "services/admin/store.hpp"

#include <map>

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "services/booking/rules.hpp"
#include "services/flight/model.hpp"
#include "services/flight/rules.hpp"

namespace cj::admin {
namespace {

constexpr const char* kListFlights =
    "SELECT f.flight_id, f.airline, f.departure_airport, f.arrival_airport, f.departure_time, "
    "f.arrival_time, f.duration, f.aircraft, f.base_price, f.total_seats, f.is_active, "
    "da.airport_name, aa.airport_name FROM flights f "
    "JOIN airports da ON da.airport_code = f.departure_airport "
    "JOIN airports aa ON aa.airport_code = f.arrival_airport "
    "WHERE f.is_active = 1 ORDER BY f.departure_time, f.flight_id";
constexpr const char* kAirportExists = "SELECT COUNT(*) FROM airports WHERE airport_code = :c";
constexpr const char* kFlightExists = "SELECT COUNT(*) FROM flights WHERE flight_id = :id";
constexpr const char* kInsertFlight =
    "INSERT INTO flights (flight_id, airline, departure_airport, arrival_airport, departure_time, "
    "arrival_time, duration, aircraft, base_price, total_seats, is_active) "
    "VALUES (:id, :airline, :dep, :arr, :dt, :at, :dur, :ac, :price, :seats, 1)";
constexpr const char* kUpdateFlight =
    "UPDATE flights SET airline = :airline, departure_airport = :dep, arrival_airport = :arr, "
    "departure_time = :dt, arrival_time = :at, duration = :dur, aircraft = :ac, "
    "base_price = :price, total_seats = :seats, is_active = 1 WHERE flight_id = :id";
constexpr const char* kScheduleOnDate =
    "SELECT schedule_id FROM flight_schedules WHERE flight_id = :id AND flight_date = :d";
constexpr const char* kInsertSchedule =
    "INSERT INTO flight_schedules (flight_id, flight_date, current_price, available_seats, status) "
    "VALUES (:id, :d, :price, :seats, 'ACTIVE')";
// Seats are held by CONFIRMED bookings and by HELD ones (unpaid, holding their seats until they
// are paid or expire): both count wherever admin code counts seats taken.
constexpr const char* kLivePassengers =
    "SELECT COUNT(*) FROM passengers p JOIN bookings b ON b.booking_id = p.booking_id "
    "WHERE b.schedule_id = :s AND b.status IN ('CONFIRMED', 'HELD')";
constexpr const char* kLiveSeatLabels =
    "SELECT sa.seat_number FROM seat_assignments sa JOIN bookings b ON b.booking_id = "
    "sa.booking_id "
    "WHERE sa.schedule_id = :s AND b.status IN ('CONFIRMED', 'HELD')";
// Every write of available_seats first takes the schedule row, the lock every booking and cancel
// of that schedule queues on (booking/store.cpp), and only then counts the passengers: a booking
// cannot commit between the count and the write. SQLite needs no row lock: BEGIN IMMEDIATE
// already makes this transaction the only writer.
constexpr const char* kLockScheduleSqlite =
    "SELECT available_seats FROM flight_schedules WHERE schedule_id = :s";
constexpr const char* kLockScheduleMysql =
    "SELECT available_seats FROM flight_schedules WHERE schedule_id = :s FOR UPDATE";
// The schedules of a flight that may not have departed yet (`:since` as in kFutureDatesOfFlight),
// locked in schedule_id order (one order for every admin writer).
constexpr const char* kLiveSchedulesOfFlightSqlite =
    "SELECT schedule_id, flight_date, available_seats FROM flight_schedules "
    "WHERE flight_id = :id AND flight_date >= :since ORDER BY schedule_id";
constexpr const char* kLiveSchedulesOfFlightMysql =
    "SELECT schedule_id, flight_date, available_seats FROM flight_schedules "
    "WHERE flight_id = :id AND flight_date >= :since ORDER BY schedule_id FOR UPDATE";
// Overwrite keeps the invariant available = seats offered − live passengers.
constexpr const char* kOverwriteSchedule =
    "UPDATE flight_schedules SET current_price = :price, available_seats = :seats, "
    "status = 'ACTIVE' WHERE schedule_id = :s";
constexpr const char* kSetAvailableSeats =
    "UPDATE flight_schedules SET available_seats = :seats WHERE schedule_id = :s";
constexpr const char* kDeactivateFlight =
    "UPDATE flights SET is_active = 0 WHERE flight_id = :id AND is_active = 1";
constexpr const char* kFlightRoute =
    "SELECT departure_airport, arrival_airport FROM flights WHERE flight_id = :id";
constexpr const char* kFlightRouteAndSeats =
    "SELECT departure_airport, arrival_airport, total_seats FROM flights WHERE flight_id = :id";
// `:since` is yesterday in UTC (a flight_date is a local date, at most a day behind UTC):
// invalidating the cache of one date too many is harmless, one too few is not.
constexpr const char* kFutureDatesOfFlight =
    "SELECT flight_date FROM flight_schedules WHERE flight_id = :id AND flight_date >= :since";

constexpr const char* kListSchedules =
    "SELECT fs.schedule_id, fs.flight_id, fs.flight_date, fs.current_price, fs.available_seats, "
    "fs.status, f.airline, f.departure_airport, f.arrival_airport, f.departure_time, "
    "f.arrival_time, f.duration, f.aircraft, f.total_seats, d.discount_id, d.discount_percentage, "
    "da.airport_name, aa.airport_name, da.time_zone "
    "FROM flight_schedules fs JOIN flights f ON f.flight_id = fs.flight_id "
    "JOIN airports da ON da.airport_code = f.departure_airport "
    "JOIN airports aa ON aa.airport_code = f.arrival_airport "
    "LEFT JOIN flight_discounts d ON d.schedule_id = fs.schedule_id AND d.status = 'ACTIVE' "
    "WHERE fs.status = 'ACTIVE' AND fs.flight_date >= :since AND f.is_active = 1 "
    "ORDER BY fs.flight_date, f.departure_time, fs.schedule_id";
constexpr const char* kListDiscounts =
    "SELECT d.discount_id, d.schedule_id, d.discount_percentage, d.status, d.created_at, "
    "fs.flight_id, fs.flight_date, fs.current_price, fs.available_seats, f.departure_airport, "
    "f.arrival_airport, f.departure_time, f.arrival_time, da.airport_name, aa.airport_name "
    "FROM flight_discounts d JOIN flight_schedules fs ON fs.schedule_id = d.schedule_id "
    "JOIN flights f ON f.flight_id = fs.flight_id "
    "JOIN airports da ON da.airport_code = f.departure_airport "
    "JOIN airports aa ON aa.airport_code = f.arrival_airport "
    "WHERE d.status = 'ACTIVE' ORDER BY d.created_at DESC, d.discount_id DESC";
constexpr const char* kScheduleRoute =
    "SELECT f.departure_airport, f.arrival_airport, fs.flight_date FROM flight_schedules fs "
    "JOIN flights f ON f.flight_id = fs.flight_id WHERE fs.schedule_id = :s";
constexpr const char* kInsertDiscount =
    "INSERT INTO flight_discounts (schedule_id, discount_percentage, status, created_at, "
    "updated_at) VALUES (:s, :p, 'ACTIVE', :now, :now2)";
constexpr const char* kActiveDiscountById =
    "SELECT schedule_id, discount_percentage FROM flight_discounts "
    "WHERE discount_id = :id AND status = 'ACTIVE'";
constexpr const char* kDeactivateDiscount =
    "UPDATE flight_discounts SET status = 'INACTIVE', updated_at = :now WHERE discount_id = :id";

constexpr const char* kBookingsSelect =
    "SELECT b.booking_id, b.booking_number, b.user_id, u.name, u.email, u.phone, b.seat_number, "
    "b.total_amount, b.contact_email, b.contact_phone, b.payment_method, b.status, b.created_at, "
    "fs.schedule_id, fs.flight_date, f.flight_id, f.departure_airport, f.arrival_airport, "
    "f.departure_time, f.arrival_time, da.airport_name, aa.airport_name "
    "FROM bookings b JOIN users u ON u.user_id = b.user_id "
    "JOIN flight_schedules fs ON fs.schedule_id = b.schedule_id "
    "JOIN flights f ON f.flight_id = fs.flight_id "
    "JOIN airports da ON da.airport_code = f.departure_airport "
    "JOIN airports aa ON aa.airport_code = f.arrival_airport ";
constexpr const char* kBookingsCount =
    "SELECT COUNT(*) FROM bookings b JOIN users u ON u.user_id = b.user_id ";
constexpr const char* kBookingsOrder =
    " ORDER BY b.created_at DESC, b.booking_id DESC LIMIT :lim OFFSET :off";
// The term is matched literally: '!' escapes %, _ and itself (see like_pattern).
constexpr const char* kSearchWhere =
    "WHERE b.booking_number LIKE :t1 ESCAPE '!' OR u.name LIKE :t2 ESCAPE '!' "
    "OR u.email LIKE :t3 ESCAPE '!' OR u.phone LIKE :t4 ESCAPE '!' "
    "OR b.contact_email LIKE :t5 ESCAPE '!' OR b.contact_phone LIKE :t6 ESCAPE '!'";
constexpr const char* kPassengersOf =
    "SELECT booking_id, name_kor, name_eng, birth_date, gender, seat_number FROM passengers "
    "WHERE booking_id IN ";

constexpr const char* kInsertAudit =
    "INSERT INTO admin_audit (admin_user_id, action, target, request_id, summary, created_at) "
    "VALUES (:a, :action, :target, :rid, :summary, :now)";
constexpr const char* kAuditCount = "SELECT COUNT(*) FROM admin_audit";
constexpr const char* kAuditPage =
    "SELECT audit_id, admin_user_id, action, target, request_id, summary, created_at "
    "FROM admin_audit ORDER BY audit_id DESC LIMIT :lim OFFSET :off";

constexpr int kListCap = 1000;

nlohmann::json text_or_null(const std::string& v, soci::indicator ind) {
  return ind == soci::i_ok ? nlohmann::json(v) : nlohmann::json(nullptr);
}

std::string like_pattern(const std::string& term) {
  std::string out = "%";
  for (char c : term) {
    if (c == '!' || c == '%' || c == '_') out.push_back('!');
    out.push_back(c);
  }
  out.push_back('%');
  return out;
}

bool airport_exists(soci::session& s, const std::string& code) {
  long long n = 0;
  s << kAirportExists, soci::into(n), soci::use(code);
  return n > 0;
}

nlohmann::json flight_summary(const FlightIn& f) {
  return {{"flight_id", f.flight_id},
          {"airline", f.airline},
          {"departure_airport", f.departure_airport},
          {"arrival_airport", f.arrival_airport},
          {"departure_time", hh_mm(f.departure_time)},
          {"arrival_time", hh_mm(f.arrival_time)},
          {"aircraft", f.aircraft},
          {"base_price", f.base_price},
          {"total_seats", f.total_seats}};
}

void write_flight(soci::session& s, const FlightIn& f, const char* sql) {
  s << sql, soci::use(f.flight_id), soci::use(f.airline), soci::use(f.departure_airport),
      soci::use(f.arrival_airport), soci::use(f.departure_time), soci::use(f.arrival_time),
      soci::use(f.duration), soci::use(f.aircraft), soci::use(f.base_price),
      soci::use(f.total_seats);
}

void update_flight(soci::session& s, const FlightIn& f) {
  s << kUpdateFlight, soci::use(f.airline), soci::use(f.departure_airport),
      soci::use(f.arrival_airport), soci::use(f.departure_time), soci::use(f.arrival_time),
      soci::use(f.duration), soci::use(f.aircraft), soci::use(f.base_price),
      soci::use(f.total_seats), soci::use(f.flight_id);
}

Status check_airports(soci::session& s, const FlightIn& f) {
  if (!airport_exists(s, f.departure_airport)) return invalid_departure_airport();
  if (!airport_exists(s, f.arrival_airport)) return invalid_arrival_airport();
  return ok_status();
}

long long live_passengers(soci::session& s, long long schedule_id) {
  long long n = 0;
  s << kLivePassengers, soci::into(n), soci::use(schedule_id);
  return n;
}

// A seat count for one schedule (locked by the caller) must hold every passenger already sold,
// else nothing changes (409). Returns the passengers counted.
Result<long long> check_seats_cover_sold(soci::session& s, long long schedule_id,
                                         const std::string& date, long long seats) {
  const long long live = live_passengers(s, schedule_id);
  if (live > seats) return seats_below_sold(date, live, seats);
  return live;
}

// A new total_seats for a flight, checked against one of its live schedules (locked by the
// caller): it must hold every passenger sold and every seat assigned (a seat label outside the
// new seat map would belong to nobody's aircraft). Returns the passengers counted.
Result<long long> check_total_covers_sold(soci::session& s, long long schedule_id,
                                          const std::string& date, long long total_seats) {
  auto live = check_seats_cover_sold(s, schedule_id, date, total_seats);
  if (!live) return live;
  const booking::SeatMap map = booking::seat_map_for(static_cast<int>(total_seats));
  std::string seat;
  soci::statement st = (s.prepare << kLiveSeatLabels, soci::into(seat), soci::use(schedule_id));
  st.execute();
  while (st.fetch()) {
    if (!map.contains(seat)) return assigned_seat_outside(date, seat, total_seats);
  }
  return live;
}

// A flight's total_seats changes: every live schedule must still hold what it sold, and none may
// keep more available seats than the new total leaves (available ≤ total − live). A larger total
// adds no seats to existing schedules by itself: offering them is an explicit overwrite.
Status resize_live_schedules(soci::session& s, bool sqlite, const FlightIn& f) {
  struct Live {
    long long id = 0;
    std::string date;
    long long available = 0;
  };
  std::vector<Live> schedules;
  {
    Live row;
    const std::string since = clock::add_days(clock::today_utc(), -1);
    soci::statement st =
        (s.prepare << (sqlite ? kLiveSchedulesOfFlightSqlite : kLiveSchedulesOfFlightMysql),
         soci::into(row.id), soci::into(row.date), soci::into(row.available),
         soci::use(f.flight_id), soci::use(since));
    st.execute();
    while (st.fetch()) {
      row.date = row.date.substr(0, 10);
      schedules.push_back(row);
    }
  }
  for (const auto& sched : schedules) {
    auto live = check_total_covers_sold(s, sched.id, sched.date, f.total_seats);
    if (!live) return live.error();
    const long long most = f.total_seats - *live;
    if (sched.available > most) s << kSetAvailableSeats, soci::use(most), soci::use(sched.id);
  }
  return ok_status();
}

}  // namespace

void AdminStore::record(soci::session& s, const Actor& who, const std::string& action,
                        const std::string& target, const nlohmann::json& summary) {
  // Shallow and built by the server, but a path parameter may carry any bytes: never throw.
  const std::string text = summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  soci::indicator rid_ind = who.request_id.empty() ? soci::i_null : soci::i_ok;
  const std::string now = clock::db_now();
  s << kInsertAudit, soci::use(who.admin_id), soci::use(action), soci::use(target),
      soci::use(who.request_id, rid_ind), soci::use(text), soci::use(now);
}

Result<nlohmann::json> AdminStore::list_flights() {
  return db_.run("admin.list_flights", [&](soci::session& s) {
    nlohmann::json rows = nlohmann::json::array();
    std::string id, airline, dep, arr, dt, at, dur, ac, dep_name, arr_name;
    soci::indicator dur_i, ac_i;
    long long price = 0, seats = 0;
    int active = 0;
    soci::statement st =
        (s.prepare << kListFlights, soci::into(id), soci::into(airline), soci::into(dep),
         soci::into(arr), soci::into(dt), soci::into(at), soci::into(dur, dur_i),
         soci::into(ac, ac_i), soci::into(price), soci::into(seats), soci::into(active),
         soci::into(dep_name), soci::into(arr_name));
    st.execute();
    while (st.fetch()) {
      rows.push_back({{"flight_id", id},
                      {"airline", airline},
                      {"departure_airport", dep},
                      {"arrival_airport", arr},
                      {"departure_time", hh_mm(dt)},
                      {"arrival_time", hh_mm(at)},
                      {"duration", text_or_null(dur, dur_i)},
                      {"aircraft", text_or_null(ac, ac_i)},
                      {"base_price", price},
                      {"total_seats", seats},
                      {"is_active", active != 0},
                      {"departure_airport_name", dep_name},
                      {"arrival_airport_name", arr_name}});
    }
    return rows;
  });
}

Status AdminStore::create_flight(const FlightIn& f, const Actor& who) {
  return db_.transaction("admin.create_flight", [&](soci::session& s) -> Status {
    if (auto st = check_airports(s, f); !st) return st;
    long long exists = 0;
    s << kFlightExists, soci::into(exists), soci::use(f.flight_id);
    if (exists > 0) return flight_exists();
    try {
      write_flight(s, f, kInsertFlight);
    } catch (const soci::soci_error& e) {
      if (db::is_unique_violation(e)) return flight_exists();
      throw;
    }
    record(s, who, "flight.create", f.flight_id, flight_summary(f));
    return ok_status();
  });
}

Result<Written<ScheduleResult>> AdminStore::upsert_flight_with_schedules(const FlightIn& f,
                                                                         const ScheduleSpec& spec,
                                                                         const Actor& who) {
  return db_.transaction(
      "admin.flight_with_schedules", [&](soci::session& s) -> Result<Written<ScheduleResult>> {
        if (auto st = check_airports(s, f); !st) return st.error();
        const long long price = spec.current_price.value_or(f.base_price);
        // `available_seats` of the request is the number of seats the schedule offers; the
        // schedule then has that many minus its live passengers available. So it can never exceed
        // total_seats − live (refused above total_seats, 400), and it may not drop below what is
        // sold (409): seats are neither made out of nothing nor taken from a passenger.
        const long long seats = spec.available_seats.value_or(f.total_seats);
        if (seats > f.total_seats) {
          return errors::invalid_field("available_seats",
                                       "좌석 수는 항공기 좌석 수를 넘을 수 없습니다.",
                                       "must not exceed total_seats");
        }
        ScheduleResult r;
        std::optional<std::pair<std::string, std::string>> previous_route;
        std::string old_dep;
        std::string old_arr;
        long long old_total_seats = 0;
        s << kFlightRouteAndSeats, soci::into(old_dep), soci::into(old_arr),
            soci::into(old_total_seats), soci::use(f.flight_id);
        const bool exists = s.got_data();
        bool seats_changed = exists && old_total_seats != f.total_seats;
        if (exists) {
          previous_route = std::pair{old_dep, old_arr};
          update_flight(s, f);
        } else {
          try {
            write_flight(s, f, kInsertFlight);
          } catch (const soci::soci_error& e) {
            // Another request created the same flight meanwhile: this one becomes an update (of
            // a seat count this request never saw, so its schedules are checked as resized).
            if (!db::is_unique_violation(e)) throw;
            update_flight(s, f);
            seats_changed = true;
          }
        }
        // The flight row is written (and so locked) before any schedule row: admin writers of one
        // flight queue on it, and bookings never lock a flight row, so there is no lock cycle.
        if (seats_changed) {
          if (auto st = resize_live_schedules(s, db_.is_sqlite(), f); !st) return st.error();
        }
        r.requested = static_cast<int>(spec.dates.size());
        for (const auto& date : spec.dates) {
          long long schedule_id = 0;
          s << kScheduleOnDate, soci::into(schedule_id), soci::use(f.flight_id), soci::use(date);
          bool inserted = false;
          if (!s.got_data()) {
            try {
              s << kInsertSchedule, soci::use(f.flight_id), soci::use(date), soci::use(price),
                  soci::use(seats);
              inserted = true;
            } catch (const soci::soci_error& e) {
              // A concurrent request created this date first: treat it as existing.
              if (!db::is_unique_violation(e)) throw;
              s << kScheduleOnDate, soci::into(schedule_id), soci::use(f.flight_id),
                  soci::use(date);
            }
          }
          if (inserted) {
            ++r.created;
          } else if (spec.overwrite) {
            long long available = 0;
            s << db_.pick(kLockScheduleSqlite, kLockScheduleMysql), soci::into(available),
                soci::use(schedule_id);
            auto live = check_seats_cover_sold(s, schedule_id, date, seats);
            if (!live) return live.error();
            const long long left = seats - *live;
            s << kOverwriteSchedule, soci::use(price), soci::use(left), soci::use(schedule_id);
            ++r.updated;
          } else {
            ++r.skipped;
          }
        }
        // Every future date of the flight may show differently now (a changed route, times, or a
        // re-activated flight), under the old route and the new one.
        flight::Touched touched;
        {
          std::string d;
          const std::string since = clock::add_days(clock::today_utc(), -1);
          soci::statement q = (s.prepare << kFutureDatesOfFlight, soci::into(d),
                               soci::use(f.flight_id), soci::use(since));
          q.execute();
          while (q.fetch()) {
            const std::string date = d.substr(0, 10);
            touched.searches.push_back({f.departure_airport, f.arrival_airport, date});
            if (previous_route) {
              touched.searches.push_back({previous_route->first, previous_route->second, date});
            }
          }
        }
        auto summary = flight_summary(f);
        summary["flight_existed"] = exists;
        summary["dates"] = spec.dates;
        summary["created"] = r.created;
        summary["updated"] = r.updated;
        summary["skipped"] = r.skipped;
        record(s, who, "flight.upsert_with_schedules", f.flight_id, summary);
        return Written<ScheduleResult>{r, std::move(touched)};
      });
}

Result<Written<Unit>> AdminStore::delete_flight(const std::string& flight_id, const Actor& who) {
  return db_.transaction("admin.delete_flight", [&](soci::session& s) -> Result<Written<Unit>> {
    soci::statement st = (s.prepare << kDeactivateFlight, soci::use(flight_id));
    st.execute(true);
    if (st.get_affected_rows() == 0) return flight_not_found();
    std::string departure;
    std::string arrival;
    s << kFlightRoute, soci::into(departure), soci::into(arrival), soci::use(flight_id);
    flight::Touched touched;
    touched.featured = true;
    std::string d;
    const std::string since = clock::add_days(clock::today_utc(), -1);
    soci::statement q =
        (s.prepare << kFutureDatesOfFlight, soci::into(d), soci::use(flight_id), soci::use(since));
    q.execute();
    while (q.fetch()) touched.searches.push_back({departure, arrival, d.substr(0, 10)});
    record(s, who, "flight.delete", flight_id, {{"is_active", false}});
    return Written<Unit>{Unit{}, std::move(touched)};
  });
}

Result<nlohmann::json> AdminStore::list_schedules(std::int64_t now) {
  return db_.run("admin.list_schedules", [&](soci::session& s) {
    nlohmann::json rows = nlohmann::json::array();
    const std::string since = clock::add_days(clock::utc_date(now), -1);
    long long id = 0, price = 0, avail = 0, seats = 0, discount_id = 0;
    int pct = 0;
    std::string flight_id, date, status, airline, dep, arr, dt, at, dur, ac, dep_name, arr_name,
        zone;
    soci::indicator dur_i, ac_i, did_i, pct_i;
    soci::statement st(s);
    st.exchange(soci::into(id));
    st.exchange(soci::into(flight_id));
    st.exchange(soci::into(date));
    st.exchange(soci::into(price));
    st.exchange(soci::into(avail));
    st.exchange(soci::into(status));
    st.exchange(soci::into(airline));
    st.exchange(soci::into(dep));
    st.exchange(soci::into(arr));
    st.exchange(soci::into(dt));
    st.exchange(soci::into(at));
    st.exchange(soci::into(dur, dur_i));
    st.exchange(soci::into(ac, ac_i));
    st.exchange(soci::into(seats));
    st.exchange(soci::into(discount_id, did_i));
    st.exchange(soci::into(pct, pct_i));
    st.exchange(soci::into(dep_name));
    st.exchange(soci::into(arr_name));
    st.exchange(soci::into(zone));
    st.exchange(soci::use(since));
    st.alloc();
    st.prepare(kListSchedules);
    st.define_and_bind();
    st.execute();
    while (st.fetch()) {
      // "Future" for an admin is "not departed yet" (the sales cut-off is for customers): a
      // schedule inside its cut-off still needs managing.
      auto departs = flight::departure_instant(date.substr(0, 10), dt, zone);
      if (!departs || *departs <= now) continue;
      const bool discounted = pct_i == soci::i_ok;
      rows.push_back(
          {{"schedule_id", id},
           {"flight_id", flight_id},
           {"flight_date", date.substr(0, 10)},
           {"current_price", price},
           {"available_seats", avail},
           {"status", status},
           {"airline", airline},
           {"departure_airport", dep},
           {"arrival_airport", arr},
           {"departure_time", hh_mm(dt)},
           {"arrival_time", hh_mm(at)},
           {"duration", text_or_null(dur, dur_i)},
           {"aircraft", text_or_null(ac, ac_i)},
           {"total_seats", seats},
           {"discount_id", discounted ? nlohmann::json(discount_id) : nullptr},
           {"discount_percentage", discounted ? nlohmann::json(pct) : nullptr},
           {"discounted_price", discounted ? flight::discounted_price(price, pct) : price},
           // The admin page prints "departure_name → arrival_name" (the original's
           // airport_name AS departure_name / arrival_name).
           {"departure_name", dep_name},
           {"arrival_name", arr_name}});
    }
    return rows;
  });
}

Result<nlohmann::json> AdminStore::list_discounts() {
  return db_.run("admin.list_discounts", [&](soci::session& s) {
    nlohmann::json rows = nlohmann::json::array();
    long long id = 0, schedule_id = 0, price = 0, avail = 0;
    int pct = 0;
    std::string status, created, flight_id, date, dep, arr, dt, at, dep_name, arr_name;
    soci::statement st(s);
    st.exchange(soci::into(id));
    st.exchange(soci::into(schedule_id));
    st.exchange(soci::into(pct));
    st.exchange(soci::into(status));
    st.exchange(soci::into(created));
    st.exchange(soci::into(flight_id));
    st.exchange(soci::into(date));
    st.exchange(soci::into(price));
    st.exchange(soci::into(avail));
    st.exchange(soci::into(dep));
    st.exchange(soci::into(arr));
    st.exchange(soci::into(dt));
    st.exchange(soci::into(at));
    st.exchange(soci::into(dep_name));
    st.exchange(soci::into(arr_name));
    st.alloc();
    st.prepare(kListDiscounts);
    st.define_and_bind();
    st.execute();
    while (st.fetch()) {
      rows.push_back({{"discount_id", id},
                      {"schedule_id", schedule_id},
                      {"discount_percentage", pct},
                      {"status", status},
                      {"created_at", clock::iso_timestamp(created)},
                      {"flight_id", flight_id},
                      {"flight_date", date.substr(0, 10)},
                      {"current_price", price},
                      {"original_price", price},
                      {"discounted_price", flight::discounted_price(price, pct)},
                      {"available_seats", avail},
                      {"departure_airport", dep},
                      {"arrival_airport", arr},
                      {"departure_time", hh_mm(dt)},
                      {"arrival_time", hh_mm(at)},
                      {"departure_name", dep_name},
                      {"arrival_name", arr_name}});
    }
    return rows;
  });
}

Result<Written<long long>> AdminStore::create_discount(long long schedule_id, int percentage,
                                                       const Actor& who) {
  return db_.transaction(
      "admin.create_discount", [&](soci::session& s) -> Result<Written<long long>> {
        flight::RouteDate route;
        s << kScheduleRoute, soci::into(route.departure), soci::into(route.arrival),
            soci::into(route.date), soci::use(schedule_id);
        if (!s.got_data()) return schedule_not_found();
        route.date = route.date.substr(0, 10);
        const std::string now = clock::db_now();
        try {
          s << kInsertDiscount, soci::use(schedule_id), soci::use(percentage), soci::use(now),
              soci::use(now);
        } catch (const soci::soci_error& e) {
          // The unique index on ACTIVE discounts decides races between two admins.
          if (db::is_unique_violation(e)) return discount_exists();
          throw;
        }
        long long id = 0;
        s.get_last_insert_id("flight_discounts", id);
        record(s, who, "discount.create", std::to_string(id),
               {{"schedule_id", schedule_id}, {"discount_percentage", percentage}});
        return Written<long long>{id, flight::Touched{{route}, {}}};
      });
}

Result<Written<Unit>> AdminStore::delete_discount(long long discount_id, const Actor& who) {
  return db_.transaction("admin.delete_discount", [&](soci::session& s) -> Result<Written<Unit>> {
    long long schedule_id = 0;
    int pct = 0;
    s << kActiveDiscountById, soci::into(schedule_id), soci::into(pct), soci::use(discount_id);
    if (!s.got_data()) return discount_not_found();
    const std::string now = clock::db_now();
    s << kDeactivateDiscount, soci::use(now), soci::use(discount_id);
    flight::RouteDate route;
    s << kScheduleRoute, soci::into(route.departure), soci::into(route.arrival),
        soci::into(route.date), soci::use(schedule_id);
    route.date = route.date.substr(0, 10);
    record(s, who, "discount.delete", std::to_string(discount_id),
           {{"schedule_id", schedule_id}, {"discount_percentage", pct}, {"status", "INACTIVE"}});
    return Written<Unit>{Unit{}, flight::Touched{{route}, {}}};
  });
}

Result<Listing> AdminStore::list_bookings(Page page) {
  return bookings_where("", {}, page);
}

Result<Listing> AdminStore::search_bookings(const std::string& term) {
  const std::string pattern = like_pattern(term);
  return bookings_where(kSearchWhere, std::vector<std::string>(6, pattern), Page{});
}

Result<Listing> AdminStore::bookings_where(const std::string& where,
                                           const std::vector<std::string>& params, Page page) {
  return db_.run("admin.bookings", [&](soci::session& s) {
    Listing out;
    {
      soci::statement count(s);
      count.exchange(soci::into(out.total));
      for (const auto& p : params) count.exchange(soci::use(p));
      count.alloc();
      count.prepare(std::string(kBookingsCount) + where);
      count.define_and_bind();
      count.execute(true);
    }
    const int limit = page.limit > 0 ? page.limit : kListCap;
    const int offset = page.limit > 0 ? page.offset : 0;
    long long id = 0, user_id = 0, amount = 0, schedule_id = 0;
    std::string number, name, email, phone, seat, cemail, cphone, method, status, created, date,
        flight_id, dep, arr, dt, at, dep_name, arr_name;
    soci::indicator phone_i, seat_i, cemail_i, cphone_i, method_i;
    soci::statement st(s);
    st.exchange(soci::into(id));
    st.exchange(soci::into(number));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(name));
    st.exchange(soci::into(email));
    st.exchange(soci::into(phone, phone_i));
    st.exchange(soci::into(seat, seat_i));
    st.exchange(soci::into(amount));
    st.exchange(soci::into(cemail, cemail_i));
    st.exchange(soci::into(cphone, cphone_i));
    st.exchange(soci::into(method, method_i));
    st.exchange(soci::into(status));
    st.exchange(soci::into(created));
    st.exchange(soci::into(schedule_id));
    st.exchange(soci::into(date));
    st.exchange(soci::into(flight_id));
    st.exchange(soci::into(dep));
    st.exchange(soci::into(arr));
    st.exchange(soci::into(dt));
    st.exchange(soci::into(at));
    st.exchange(soci::into(dep_name));
    st.exchange(soci::into(arr_name));
    for (const auto& p : params) st.exchange(soci::use(p));
    st.exchange(soci::use(limit));
    st.exchange(soci::use(offset));
    st.alloc();
    st.prepare(std::string(kBookingsSelect) + where + kBookingsOrder);
    st.define_and_bind();
    st.execute();
    std::map<long long, std::size_t> index;
    std::string ids;
    while (st.fetch()) {
      index[id] = out.rows.size();
      // Appended piecewise: GCC 12 at -O3 reports a bogus -Wstringop-overflow (a memcpy "bound
      // between 2^63 and 2^64") for `const char* + std::string&&`, whose insert-at-front it
      // cannot bound; appending is also one copy fewer.
      if (!ids.empty()) ids += ',';
      ids += std::to_string(id);
      out.rows.push_back({{"booking_id", id},
                          {"booking_number", number},
                          {"user_id", user_id},
                          {"customer_name", name},
                          {"user_email", email},
                          {"user_phone", text_or_null(phone, phone_i)},
                          {"seat_number", text_or_null(seat, seat_i)},
                          {"total_amount", amount},
                          {"contact_email", text_or_null(cemail, cemail_i)},
                          {"contact_phone", text_or_null(cphone, cphone_i)},
                          {"payment_method", text_or_null(method, method_i)},
                          {"status", status},
                          {"created_at", clock::iso_timestamp(created)},
                          {"schedule_id", schedule_id},
                          {"flight_date", date.substr(0, 10)},
                          {"flight_id", flight_id},
                          {"departure_airport", dep},
                          {"arrival_airport", arr},
                          {"departure_time", dt},
                          {"arrival_time", at},
                          {"departure_name", dep_name},
                          {"arrival_name", arr_name},
                          {"passengers", nlohmann::json::array()}});
    }
    if (ids.empty()) return out;
    // One query for all passengers of the page; the ids are integers read from the database.
    long long booking_id = 0;
    std::string kor, eng, birth, gender, pseat;
    soci::indicator eng_i, birth_i, gender_i, pseat_i;
    soci::statement ps =
        (s.prepare << std::string(kPassengersOf) + "(" + ids + ") ORDER BY passenger_id",
         soci::into(booking_id), soci::into(kor), soci::into(eng, eng_i),
         soci::into(birth, birth_i), soci::into(gender, gender_i), soci::into(pseat, pseat_i));
    ps.execute();
    while (ps.fetch()) {
      out.rows[index[booking_id]]["passengers"].push_back(
          {{"name_kor", kor},
           {"name_eng", text_or_null(eng, eng_i)},
           {"birth_date", text_or_null(birth.substr(0, 10), birth_i)},
           {"gender", text_or_null(gender, gender_i)},
           {"seat_number", text_or_null(pseat, pseat_i)}});
    }
    return out;
  });
}

Result<Listing> AdminStore::audit_log(Page page) {
  return db_.run("admin.audit_log", [&](soci::session& s) {
    Listing out;
    s << kAuditCount, soci::into(out.total);
    const int limit = page.limit > 0 ? page.limit : 50;
    const int offset = page.limit > 0 ? page.offset : 0;
    long long id = 0, admin_id = 0;
    std::string action, target, rid, summary, created;
    soci::indicator rid_i;
    soci::statement st =
        (s.prepare << kAuditPage, soci::into(id), soci::into(admin_id), soci::into(action),
         soci::into(target), soci::into(rid, rid_i), soci::into(summary), soci::into(created),
         soci::use(limit), soci::use(offset));
    st.execute();
    while (st.fetch()) {
      auto parsed = nlohmann::json::parse(summary, nullptr, false);
      out.rows.push_back({{"audit_id", id},
                          {"admin_user_id", admin_id},
                          {"action", action},
                          {"target", target},
                          {"request_id", text_or_null(rid, rid_i)},
                          {"summary", parsed.is_discarded() ? nlohmann::json(summary) : parsed},
                          {"created_at", clock::iso_timestamp(created)}});
    }
    return out;
  });
}

}  // namespace cj::admin

#include "services/flight/store.hpp"

#include <map>

#include "core/clock.hpp"
#include "services/flight/rules.hpp"

namespace cj::flight {
namespace {

// Shared by search and featured: one row per schedule with names and its ACTIVE discount.
#define CJ_SCHEDULE_SELECT                                                                        \
  "SELECT fs.schedule_id, f.flight_id, f.airline, f.departure_airport, f.arrival_airport, "       \
  "f.departure_time, f.arrival_time, f.duration, f.aircraft, fs.current_price, "                  \
  "fs.available_seats, fs.flight_date, da.airport_name, aa.airport_name, d.discount_percentage, " \
  "da.time_zone "                                                                                 \
  "FROM flight_schedules fs "                                                                     \
  "JOIN flights f ON f.flight_id = fs.flight_id "                                                 \
  "JOIN airports da ON da.airport_code = f.departure_airport "                                    \
  "JOIN airports aa ON aa.airport_code = f.arrival_airport "                                      \
  "LEFT JOIN (SELECT schedule_id, MAX(discount_percentage) AS discount_percentage "               \
  "FROM flight_discounts WHERE status = 'ACTIVE' GROUP BY schedule_id) d "                        \
  "ON d.schedule_id = fs.schedule_id "

constexpr const char* kSearch = CJ_SCHEDULE_SELECT
    "WHERE f.departure_airport = :dep AND f.arrival_airport = :arr AND fs.flight_date = :d "
    "AND fs.status = 'ACTIVE' AND fs.available_seats > 0 AND f.is_active = 1";

// `:d` is a coarse bound (the day before today in UTC: no time zone is a day behind UTC); the
// exact "still on sale" test needs each airport's zone and is done on the rows. Pages, because
// the rows failing that test are not known in advance; schedule_id makes the order total.
constexpr const char* kDiscounted = CJ_SCHEDULE_SELECT
    "WHERE d.discount_percentage IS NOT NULL AND fs.flight_date >= :d "
    "AND fs.status = 'ACTIVE' AND fs.available_seats > 0 AND f.is_active = 1 "
    "ORDER BY d.discount_percentage DESC, fs.flight_date ASC, f.departure_time ASC, "
    "fs.schedule_id ASC LIMIT :lim OFFSET :off";
// Rows beyond the limit fetched per page, for the few that have left sale today.
constexpr int kDiscountedSlack = 16;

#undef CJ_SCHEDULE_SELECT

constexpr const char* kAirports =
    "SELECT airport_code, airport_name, city, country, time_zone FROM airports "
    "ORDER BY airport_name";

// Binds one ScheduleRow's columns; nullable text columns get indicators.
struct RowBinding {
  ScheduleRow row;
  std::string duration;
  std::string aircraft;
  int discount = 0;
  soci::indicator duration_ind = soci::i_ok;
  soci::indicator aircraft_ind = soci::i_ok;
  soci::indicator discount_ind = soci::i_ok;

  void bind(soci::statement& st) {
    st.exchange(soci::into(row.schedule_id));
    st.exchange(soci::into(row.flight_id));
    st.exchange(soci::into(row.airline));
    st.exchange(soci::into(row.departure_airport));
    st.exchange(soci::into(row.arrival_airport));
    st.exchange(soci::into(row.departure_time));
    st.exchange(soci::into(row.arrival_time));
    st.exchange(soci::into(duration, duration_ind));
    st.exchange(soci::into(aircraft, aircraft_ind));
    st.exchange(soci::into(row.original_price));
    st.exchange(soci::into(row.available_seats));
    st.exchange(soci::into(row.date));
    st.exchange(soci::into(row.departure_name));
    st.exchange(soci::into(row.arrival_name));
    st.exchange(soci::into(discount, discount_ind));
    st.exchange(soci::into(row.departure_zone));
  }

  [[nodiscard]] ScheduleRow take() const {
    ScheduleRow r = row;
    r.duration = duration_ind == soci::i_ok ? duration : "";
    r.aircraft = aircraft_ind == soci::i_ok ? aircraft : "";
    if (discount_ind == soci::i_ok) r.discount_percentage = discount;
    r.date = r.date.substr(0, 10);
    return r;
  }
};

// Collects rows. The discount subquery yields one row per schedule (the biggest ACTIVE discount,
// should a database predating the uniqueness rule hold two), so LIMIT counts schedules; the
// de-duplication below is a second line of defence.
std::vector<ScheduleRow> collect(soci::statement& st, RowBinding& b) {
  std::vector<ScheduleRow> rows;
  std::map<long long, std::size_t> seen;
  st.execute();
  while (st.fetch()) {
    ScheduleRow r = b.take();
    if (auto it = seen.find(r.schedule_id); it != seen.end()) {
      auto& prev = rows[it->second];
      if (r.discount_percentage > prev.discount_percentage) prev = r;
      continue;
    }
    seen[r.schedule_id] = rows.size();
    rows.push_back(std::move(r));
  }
  return rows;
}

// Adds `r` to `out` when it is on sale at `now`, keeping the earliest instant a listed row closes.
// A row whose departure cannot be computed (unknown zone) is left out: never sell what cannot be
// placed in time (departure_instant logs it).
void add_if_on_sale(ScheduleRow r, std::int64_t now, int cutoff_seconds, OnSale& out) {
  auto departs = departure_instant(r.date, r.departure_time, r.departure_zone);
  if (!departs || sales_state(*departs, now, cutoff_seconds) != Sales::Open) return;
  const std::int64_t closes = *departs - cutoff_seconds;
  if (!out.closes_at || closes < *out.closes_at) out.closes_at = closes;
  out.rows.push_back(std::move(r));
}

}  // namespace

Result<OnSale> FlightStore::search(const SearchQuery& q, std::int64_t now, int cutoff_seconds) {
  return db_.run("flight.search", [&](soci::session& s) {
    RowBinding b;
    soci::statement st(s);
    b.bind(st);
    st.exchange(soci::use(q.departure));
    st.exchange(soci::use(q.arrival));
    st.exchange(soci::use(q.date));
    st.alloc();
    st.prepare(kSearch);
    st.define_and_bind();
    OnSale out;
    for (auto& r : collect(st, b)) add_if_on_sale(std::move(r), now, cutoff_seconds, out);
    return out;
  });
}

Result<OnSale> FlightStore::discounted(std::int64_t now, int cutoff_seconds, int limit) {
  return db_.run("flight.discounted", [&](soci::session& s) {
    const std::string from_date = clock::add_days(clock::utc_date(now), -1);
    const int page = limit + kDiscountedSlack;
    OnSale out;
    for (int offset = 0;; offset += page) {
      RowBinding b;
      soci::statement st(s);
      b.bind(st);
      st.exchange(soci::use(from_date));
      st.exchange(soci::use(page));
      st.exchange(soci::use(offset));
      st.alloc();
      st.prepare(kDiscounted);
      st.define_and_bind();
      auto rows = collect(st, b);
      for (auto& r : rows) {
        if (static_cast<int>(out.rows.size()) >= limit) break;
        add_if_on_sale(std::move(r), now, cutoff_seconds, out);
      }
      if (static_cast<int>(out.rows.size()) >= limit || static_cast<int>(rows.size()) < page) {
        return out;
      }
    }
  });
}

Result<std::vector<Airport>> FlightStore::airports() {
  return db_.run("flight.airports", [&](soci::session& s) {
    std::vector<Airport> out;
    Airport a;
    soci::statement st = (s.prepare << kAirports, soci::into(a.code), soci::into(a.name),
                          soci::into(a.city), soci::into(a.country), soci::into(a.time_zone));
    st.execute();
    while (st.fetch()) out.push_back(a);
    return out;
  });
}

}  // namespace cj::flight

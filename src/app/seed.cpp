#include "app/seed.hpp"

#include <chrono>
#include <cmath>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/security.hpp"
#include "core/validate.hpp"
#include "services/auth/store.hpp"
#include "services/flight/rules.hpp"

namespace cj {
namespace {

constexpr const char* kAdminEmail = "admin@cloudjet.com";

struct DemoAirport {
  const char* code;
  const char* name;
  const char* city;
  const char* country;
  const char* time_zone;  // departures are wall times of this zone
};
constexpr DemoAirport kAirports[] = {
    {"ICN", "인천국제공항", "서울", "대한민국", "Asia/Seoul"},
    {"GMP", "김포국제공항", "서울", "대한민국", "Asia/Seoul"},
    {"NRT", "나리타국제공항", "도쿄", "일본", "Asia/Tokyo"},
    {"KIX", "간사이국제공항", "오사카", "일본", "Asia/Tokyo"},
    {"BKK", "수완나품국제공항", "방콕", "태국", "Asia/Bangkok"},
    {"SYD", "킹스포드스미스공항", "시드니", "호주", "Australia/Sydney"},
    {"LAX", "로스앤젤레스국제공항", "로스앤젤레스", "미국", "America/Los_Angeles"},
    {"CDG", "샤를드골국제공항", "파리", "프랑스", "Europe/Paris"},
};

struct DemoFlight {
  const char* id;
  const char* from;
  const char* to;
  const char* dep;
  const char* arr;
  const char* aircraft;
  int base_price;
};
constexpr DemoFlight kFlights[] = {
    {"CJ101", "ICN", "NRT", "06:30:00", "09:15:00", "Boeing 737-800", 320000},
    {"CJ102", "ICN", "NRT", "09:30:00", "12:15:00", "Airbus A320", 320000},
    {"CJ111", "ICN", "KIX", "07:00:00", "09:30:00", "Boeing 737-800", 350000},
    {"CJ121", "ICN", "BKK", "08:00:00", "12:30:00", "Boeing 787-9", 450000},
    {"CJ131", "ICN", "SYD", "10:00:00", "22:30:00", "Airbus A330-300", 720000},
    {"CJ141", "ICN", "LAX", "11:00:00", "06:30:00", "Boeing 777-300ER", 850000},
    {"CJ151", "ICN", "CDG", "13:00:00", "18:30:00", "Airbus A350-900", 950000},
};
constexpr int kDemoDays = 30;
constexpr int kTotalSeats = 180;

// Uniform in [lo, hi] from the CSPRNG (demo data only; no need for anything fancier).
int uniform(int lo, int hi) {
  const auto bytes = security::random_bytes(4);
  std::uint32_t v = 0;
  std::memcpy(&v, bytes.data(), 4);
  return lo + static_cast<int>(v % static_cast<std::uint32_t>(hi - lo + 1));
}

// Airports are reference data (migration 006), so an empty catalogue is one without flights.
long long flight_count(soci::session& s) {
  long long n = 0;
  s << "SELECT COUNT(*) FROM flights", soci::into(n);
  return n;
}

// Inserts what is missing (INSERT OR IGNORE / INSERT IGNORE: seeding twice adds nothing).
int insert_demo(db::Db& db, soci::session& s) {
  const char* insert_airport = db.pick(
      "INSERT OR IGNORE INTO airports (airport_code, airport_name, city, country, time_zone) "
      "VALUES (:c, :n, :city, :country, :tz)",
      "INSERT IGNORE INTO airports (airport_code, airport_name, city, country, time_zone) "
      "VALUES (:c, :n, :city, :country, :tz)");
  const char* insert_flight = db.pick(
      "INSERT OR IGNORE INTO flights (flight_id, airline, departure_airport, arrival_airport, "
      "departure_time, arrival_time, duration, aircraft, base_price, total_seats, is_active) "
      "VALUES (:id, 'CloudJet', :f, :t, :dep, :arr, :dur, :ac, :price, :seats, 1)",
      "INSERT IGNORE INTO flights (flight_id, airline, departure_airport, arrival_airport, "
      "departure_time, arrival_time, duration, aircraft, base_price, total_seats, is_active) "
      "VALUES (:id, 'CloudJet', :f, :t, :dep, :arr, :dur, :ac, :price, :seats, 1)");
  const char* insert_schedule = db.pick(
      "INSERT OR IGNORE INTO flight_schedules (flight_id, flight_date, current_price, "
      "available_seats, status) VALUES (:id, :d, :price, :seats, 'ACTIVE')",
      "INSERT IGNORE INTO flight_schedules (flight_id, flight_date, current_price, "
      "available_seats, status) VALUES (:id, :d, :price, :seats, 'ACTIVE')");
  for (const auto& a : kAirports) {
    const std::string c = a.code, n = a.name, city = a.city, country = a.country, tz = a.time_zone;
    s << insert_airport, soci::use(c), soci::use(n), soci::use(city), soci::use(country),
        soci::use(tz);
  }
  for (const auto& f : kFlights) {
    const std::string id = f.id, from = f.from, to = f.to, dep = f.dep, arr = f.arr,
                      ac = f.aircraft;
    const std::string dur =
        flight::duration_text(*flight::parse_time_of_day(dep), *flight::parse_time_of_day(arr));
    const int price = f.base_price;
    const int seats = kTotalSeats;
    s << insert_flight, soci::use(id), soci::use(from), soci::use(to), soci::use(dep),
        soci::use(arr), soci::use(dur), soci::use(ac), soci::use(price), soci::use(seats);
  }
  int created = 0;
  const std::string today = validate::today();
  for (const auto& f : kFlights) {
    const std::string id = f.id;
    for (int day = 0; day < kDemoDays; ++day) {
      const std::string date = clock::add_days(today, day);
      // base × U(0.8, 1.2), rounded to 100 won.
      const int price =
          static_cast<int>(std::lround(f.base_price * (uniform(800, 1200) / 1000.0) / 100.0) * 100);
      const int seats = uniform(150, kTotalSeats - 1);
      soci::statement st = (s.prepare << insert_schedule, soci::use(id), soci::use(date),
                            soci::use(price), soci::use(seats));
      st.execute(true);
      created += static_cast<int>(st.get_affected_rows());
    }
  }
  return created;
}

}  // namespace

Result<bool> database_is_empty(db::Db& db) {
  return db.run("seed.is_empty", [](soci::session& s) { return flight_count(s) == 0; });
}

Result<int> seed_demo(db::Db& db) {
  return db.transaction("seed.demo", [&](soci::session& s) { return insert_demo(db, s); });
}

Result<std::optional<int>> seed_demo_if_empty(db::Db& db) {
  // The check and the inserts are one write transaction, so processes starting together on one
  // fresh database seed it once (the others find flights and leave it).
  return db.transaction("seed.demo_if_empty", [&](soci::session& s) -> std::optional<int> {
    if (flight_count(s) != 0) return std::nullopt;
    return insert_demo(db, s);
  });
}

Result<AdminSeed> ensure_admin(App& app) {
  auth::AuthStore store(*app.db);
  auto existing = store.find_by_email(kAdminEmail);
  if (!existing) return existing.error();
  AdminSeed out;
  if (*existing) {
    const auto& admin = **existing;
    const bool needs_update =
        admin.role != "ADMIN" ||
        (app.config.admin_password &&
         security::verify_password(*app.config.admin_password, admin.password_hash) !=
             security::PasswordCheck::Match);
    if (!needs_update) return out;
    if (!app.config.admin_password) {
      // Keep the password, fix the role.
      auto st = store.upsert_admin(kAdminEmail, admin.name, admin.password_hash);
      if (!st) return st.error();
      return out;
    }
  }
  if (app.config.admin_password) {
    auto created = store.upsert_admin(kAdminEmail, "관리자",
                                      security::hash_password(*app.config.admin_password));
    if (!created) return created.error();
    out.created = *created;
    return out;
  }
  // No admin and no configured password: generate one, and create the account only if no other
  // process did in the meantime (replicas starting together on a fresh database). Only the
  // process that created it prints its password, so the printed password is the one that works.
  const std::string password =
      security::random_string(20, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789");
  auth::NewUser admin{"관리자", kAdminEmail, "", "010-0000-0000", "1990-01-01"};
  auto created = store.create_user(admin, security::hash_password(password), "ADMIN");
  if (!created) {
    if (created.error().code == "email_taken") return out;
    return created.error();
  }
  out.created = true;
  out.generated_password = password;
  return out;
}

}  // namespace cj

#include "services/admin/airports.hpp"

#include <regex>

#include "core/errors.hpp"
#include "core/local_time.hpp"
#include "core/validate.hpp"

namespace cj::admin {
namespace {

constexpr const char* kInsertAirport =
    "INSERT INTO airports (airport_code, airport_name, city, country, time_zone) "
    "VALUES (:c, :n, :city, :country, :tz)";
constexpr const char* kAirportExists = "SELECT COUNT(*) FROM airports WHERE airport_code = :c";
// Fields not sent keep their value.
constexpr const char* kUpdateAirport =
    "UPDATE airports SET airport_name = COALESCE(:n, airport_name), city = COALESCE(:city, city), "
    "country = COALESCE(:country, country), time_zone = COALESCE(:tz, time_zone) "
    "WHERE airport_code = :c";

Error bad(const std::string& field, const std::string& ko, const std::string& en) {
  return errors::invalid_field(field, ko, en);
}

Result<std::string> airport_code(const std::string& raw) {
  std::string code = validate::trim(raw);
  for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::regex code_re("^[A-Z]{3}$");
  if (!std::regex_match(code, code_re)) {
    return bad("airport_code", "공항 코드는 영문 3자여야 합니다.", "must be three letters A-Z");
  }
  return code;
}

// A text column: trimmed, 1..max characters (the column's limit).
Result<std::optional<std::string>> text(const nlohmann::json& body, const std::string& field,
                                        std::size_t max, bool required) {
  std::string raw;
  if (required) {
    auto v = validate::required_string(body, field);
    if (!v) return v.error();
    raw = *v;
  } else {
    auto v = validate::optional_string(body, field);
    if (!v) return v.error();
    if (!*v) return std::optional<std::string>{};
    raw = **v;
  }
  std::string t = validate::trim(raw);
  const auto n = validate::utf8_length(t);
  if (t.empty() || !n || *n > max) {
    return bad(field, "1~" + std::to_string(max) + "자여야 합니다.",
               "must be 1 to " + std::to_string(max) + " characters");
  }
  return std::optional<std::string>(t);
}

Result<std::optional<std::string>> zone(const nlohmann::json& body, bool required) {
  auto v = text(body, "time_zone", 64, required);
  if (!v) return v.error();
  if (*v && !local_time::is_known_zone(**v)) {
    return bad("time_zone", "알 수 없는 시간대입니다 (예: Asia/Seoul).",
               "must be an IANA time zone such as Asia/Seoul");
  }
  return v;
}

Result<AirportIn> parse_fields(AirportIn a, const nlohmann::json& body, bool required) {
  auto name = text(body, "airport_name", 100, required);
  if (!name) return name.error();
  auto city = text(body, "city", 50, required);
  if (!city) return city.error();
  auto country = text(body, "country", 50, required);
  if (!country) return country.error();
  auto tz = zone(body, required);
  if (!tz) return tz.error();
  a.name = *name;
  a.city = *city;
  a.country = *country;
  a.time_zone = *tz;
  return a;
}

nlohmann::json summary_of(const AirportIn& a) {
  nlohmann::json j = nlohmann::json::object();
  if (a.name) j["airport_name"] = *a.name;
  if (a.city) j["city"] = *a.city;
  if (a.country) j["country"] = *a.country;
  if (a.time_zone) j["time_zone"] = *a.time_zone;
  return j;
}

}  // namespace

Result<AirportIn> parse_new_airport(const nlohmann::json& body) {
  auto raw = validate::required_string(body, "airport_code");
  if (!raw) return raw.error();
  auto code = airport_code(*raw);
  if (!code) return code.error();
  AirportIn a;
  a.code = *code;
  return parse_fields(std::move(a), body, true);
}

Result<AirportIn> parse_airport_change(const std::string& code, const nlohmann::json& body) {
  auto c = airport_code(code);
  if (!c) return airport_not_found();  // a path that names no airport
  AirportIn a;
  a.code = *c;
  auto parsed = parse_fields(std::move(a), body, false);
  if (!parsed) return parsed.error();
  if (!parsed->name && !parsed->city && !parsed->country && !parsed->time_zone) {
    return errors::missing_field("airport_name, city, country, time_zone");
  }
  return parsed;
}

namespace {
// The airports list changes; so may the departures of its flights (a zone moves them), which the
// featured lists show. Bookings are always judged under the schedule lock by the zone in the
// database, so no search entry needs more than its TTL.
flight::Touched airport_touched() {
  flight::Touched t;
  t.airports = true;
  t.featured = true;
  return t;
}
}  // namespace

Result<Written<Unit>> create_airport(db::Db& db, const AirportIn& a, const Actor& who) {
  return db.transaction("admin.create_airport", [&](soci::session& s) -> Result<Written<Unit>> {
    long long n = 0;
    s << kAirportExists, soci::into(n), soci::use(a.code);
    if (n > 0) return airport_exists();
    try {
      s << kInsertAirport, soci::use(a.code), soci::use(*a.name), soci::use(*a.city),
          soci::use(*a.country), soci::use(*a.time_zone);
    } catch (const soci::soci_error& e) {
      if (db::is_unique_violation(e)) return airport_exists();  // a concurrent create
      throw;
    }
    AdminStore::record(s, who, "airport.create", a.code, summary_of(a));
    return Written<Unit>{Unit{}, airport_touched()};
  });
}

Result<Written<Unit>> update_airport(db::Db& db, const AirportIn& a, const Actor& who) {
  return db.transaction("admin.update_airport", [&](soci::session& s) -> Result<Written<Unit>> {
    std::string name = a.name.value_or(""), city = a.city.value_or(""),
                country = a.country.value_or(""), tz = a.time_zone.value_or("");
    // NULL leaves the column as it is (COALESCE).
    soci::indicator name_i = a.name ? soci::i_ok : soci::i_null;
    soci::indicator city_i = a.city ? soci::i_ok : soci::i_null;
    soci::indicator country_i = a.country ? soci::i_ok : soci::i_null;
    soci::indicator tz_i = a.time_zone ? soci::i_ok : soci::i_null;
    soci::statement st =
        (s.prepare << kUpdateAirport, soci::use(name, name_i), soci::use(city, city_i),
         soci::use(country, country_i), soci::use(tz, tz_i), soci::use(a.code));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      // MySQL counts only changed rows: an update to the same values is not "not found".
      long long n = 0;
      s << kAirportExists, soci::into(n), soci::use(a.code);
      if (n == 0) return airport_not_found();
    }
    AdminStore::record(s, who, "airport.update", a.code, summary_of(a));
    return Written<Unit>{Unit{}, airport_touched()};
  });
}

Error airport_exists() {
  return {409, "airport_exists", "이미 존재하는 공항 코드입니다.", "This airport code exists."};
}

Error airport_not_found() {
  return {404, "airport_not_found", "공항을 찾을 수 없습니다.", "Airport not found."};
}

}  // namespace cj::admin

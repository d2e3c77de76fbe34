// Airports the admin adds or corrects (POST/PUT /api/admin/airports): code, names and the IANA
// time zone by which the departures of every flight from it are judged (sales cut-off,
// departed, completed). Validation, SQL and errors of this one resource live here.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/db.hpp"
#include "services/admin/store.hpp"

namespace cj::admin {

struct AirportIn {
  std::string code;  // three letters A-Z (IATA)
  std::optional<std::string> name;
  std::optional<std::string> city;
  std::optional<std::string> country;
  std::optional<std::string> time_zone;  // a zone the system tzdata knows, e.g. Pacific/Honolulu
};

// A new airport: every field required. `code` comes from the body.
Result<AirportIn> parse_new_airport(const nlohmann::json& body);
// A correction of `code`: at least one of the other fields.
Result<AirportIn> parse_airport_change(const std::string& code, const nlohmann::json& body);

// One transaction each, with its audit row; both touch the airports list and the featured lists.
Result<Written<Unit>> create_airport(db::Db& db, const AirportIn& a, const Actor& who);
Result<Written<Unit>> update_airport(db::Db& db, const AirportIn& a, const Actor& who);

Error airport_exists();
Error airport_not_found();

}  // namespace cj::admin

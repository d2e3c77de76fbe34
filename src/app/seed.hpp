// Demo data (spec/API.md: 8 airports, 7 flights, 30 days of schedules) and the admin account.
#pragma once

#include <optional>
#include <string>

#include "app/app.hpp"

namespace cj {

// Inserts what is missing of the demo airports, flights and the next 30 days of schedules;
// returns the number of schedules created.
Result<int> seed_demo(db::Db& db);
// seed_demo into a database without airports only (checked in the same transaction); nullopt
// when it had some.
Result<std::optional<int>> seed_demo_if_empty(db::Db& db);
// True when the database has no airports yet (a fresh database).
Result<bool> database_is_empty(db::Db& db);

struct AdminSeed {
  bool created = false;
  std::string generated_password;  // set only when a password was generated (print it once)
};
// Makes sure admin@cloudjet.com exists with role ADMIN. Its password is CLOUDJET_ADMIN_PASSWORD
// when set (updated if it changed), otherwise generated once at creation.
Result<AdminSeed> ensure_admin(App& app);

}  // namespace cj

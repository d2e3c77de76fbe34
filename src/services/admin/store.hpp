// Admin reads and writes in SQL. Every write is one transaction that also records its audit row.
// The list endpoints return their JSON rows directly (they are read-only projections).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"
#include "core/page.hpp"
#include "services/admin/model.hpp"
#include "services/flight/catalog_invalidator.hpp"

namespace cj::admin {

// Who did it, for the audit log.
struct Actor {
  long long admin_id = 0;
  std::string request_id;
};

struct ScheduleResult {
  int created = 0;
  int updated = 0;
  int skipped = 0;
  int requested = 0;
};

using flight::Written;

struct Listing {
  nlohmann::json rows = nlohmann::json::array();
  long long total = 0;
};

class AdminStore {
 public:
  explicit AdminStore(db::Db& db) : db_(db) {}

  Result<nlohmann::json> list_flights();
  Status create_flight(const FlightIn& f, const Actor& who);
  // Touches the search results of every future date of the flight, under its old route and its
  // new one (a changed route, times, seats or a re-activated flight).
  Result<Written<ScheduleResult>> upsert_flight_with_schedules(const FlightIn& f,
                                                               const ScheduleSpec& spec,
                                                               const Actor& who);
  // Touches the search results of the flight's future dates and the featured lists.
  Result<Written<Unit>> delete_flight(const std::string& flight_id, const Actor& who);

  // ACTIVE schedules of active flights that have not departed at `now`.
  Result<nlohmann::json> list_schedules(std::int64_t now);
  Result<nlohmann::json> list_discounts();
  // Both touch the search result of the discount's schedule. create_discount returns its id.
  Result<Written<long long>> create_discount(long long schedule_id, int percentage,
                                             const Actor& who);
  Result<Written<Unit>> delete_discount(long long discount_id, const Actor& who);

  // page.limit == 0: everything up to the cap.
  Result<Listing> list_bookings(Page page);
  Result<Listing> search_bookings(const std::string& term);
  Result<Listing> audit_log(Page page);

  static void record(soci::session& s, const Actor& who, const std::string& action,
                     const std::string& target, const nlohmann::json& summary);

 private:
  Result<Listing> bookings_where(const std::string& where, const std::vector<std::string>& params,
                                 Page page);
  db::Db& db_;
};

}  // namespace cj::admin

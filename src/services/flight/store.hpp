// Flight catalogue reads in SQL.
#pragma once

#include <vector>

#include "core/db.hpp"
#include "services/flight/model.hpp"

namespace cj::flight {

class FlightStore {
 public:
  explicit FlightStore(db::Db& db) : db_(db) {}

  // ACTIVE schedules of active flights on that route and date with seats left, with the ACTIVE
  // discount if any (unsorted).
  Result<std::vector<ScheduleRow>> search(const SearchQuery& q);
  Result<std::vector<Airport>> airports();
  // Discounted ACTIVE schedules from `from_date` on with seats left, biggest discount first, then
  // date; at most `limit`.
  Result<std::vector<ScheduleRow>> discounted(const std::string& from_date, int limit);

 private:
  db::Db& db_;
};

}  // namespace cj::flight

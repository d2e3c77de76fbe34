// Flight catalogue reads in SQL.
#pragma once

#include <cstdint>
#include <vector>

#include "core/db.hpp"
#include "services/flight/model.hpp"

namespace cj::flight {

class FlightStore {
 public:
  explicit FlightStore(db::Db& db) : db_(db) {}

  // ACTIVE schedules of active flights on that route and (local) date with seats left and on
  // sale at `now` (departing more than `cutoff_seconds` later), with the ACTIVE discount if any
  // (unsorted).
  Result<OnSale> search(const SearchQuery& q, std::int64_t now, int cutoff_seconds);
  Result<std::vector<Airport>> airports();
  // Discounted ACTIVE schedules on sale at `now` with seats left, biggest discount first, then
  // date; at most `limit`.
  Result<OnSale> discounted(std::int64_t now, int cutoff_seconds, int limit);

 private:
  db::Db& db_;
};

}  // namespace cj::flight

#include "services/flight/catalog_invalidator.hpp"

#include "services/flight/catalog_cache.hpp"

namespace cj::flight {

void CacheInvalidator::invalidate(const Touched& touched) {
  // invalidate_search also drops featured: any schedule change may move what it lists.
  for (const auto& s : touched.searches) catalog_.invalidate_search(s.departure, s.arrival, s.date);
  for (long long id : touched.seat_maps) catalog_.invalidate_seats(id);
  if (touched.featured && touched.searches.empty()) catalog_.invalidate_featured();
  if (touched.airports) reference_.invalidate_airports();
}

}  // namespace cj::flight

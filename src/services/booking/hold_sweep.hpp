// The hold sweeper's pass (BOOKING_HOLD_MINUTES): releases every HELD booking whose pay-by
// deadline passed, then invalidates the flight search and seat caches of what it released. Runs
// in every process serving bookings (a PeriodicWorker, HOLD_SWEEP_INTERVAL_SECONDS); each hold
// is released by exactly one of them (BookingStore::expire_holds decides under the locks).
#pragma once

#include "core/db.hpp"
#include "services/booking/refunds.hpp"
#include "services/flight/catalog_invalidator.hpp"

namespace cj::booking {

// Returns how many holds this pass released.
int sweep_expired_holds(db::Db& db, int sales_cutoff_minutes, flight::CatalogInvalidator& catalog,
                        Refunds& refunds);

}  // namespace cj::booking

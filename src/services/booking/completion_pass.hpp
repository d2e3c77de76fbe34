// The booking service's housekeeping pass, run by a PeriodicWorker at start and then every
// BOOKING_COMPLETE_INTERVAL_SECONDS in every process serving bookings:
//  - the CONFIRMED bookings of departed flights become COMPLETED. The update only changes
//    bookings still CONFIRMED, so replicas racing each other change each booking once;
//  - Idempotency-Keys past their lifetime (72 h) are purged, in bounded batches.
#pragma once

#include "core/db.hpp"

namespace cj::booking {

// Returns how many bookings this pass completed.
int complete_departed_bookings(db::Db& db);
// Returns how many keys this pass purged.
int purge_expired_idempotency_keys(db::Db& db);

}  // namespace cj::booking

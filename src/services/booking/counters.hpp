// Business counters of the booking service (Prometheus, via core/metrics). Counted after the
// transaction committed, so a rolled-back or retried unit of work is never counted; summed over
// replicas they equal the rows written.
#pragma once

#include <string_view>

namespace cj::booking::counters {

// A new booking (not an idempotent replay); status is CONFIRMED or HELD.
void created(std::string_view status);
// A booking cancelled by its traveller ("user") or by an admin ("admin").
void cancelled(std::string_view by);

}  // namespace cj::booking::counters

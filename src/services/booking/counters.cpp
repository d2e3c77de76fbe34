#include "services/booking/counters.hpp"

#include "core/metrics.hpp"

namespace cj::booking::counters {
namespace {

metrics::Counter& child(const char* name, const char* help, const char* label,
                        std::string_view value) {
  return metrics::Registry::instance().counter(name, help, {{label, std::string(value)}});
}

constexpr const char* kCreated = "cloudjet_bookings_created_total";
constexpr const char* kCreatedHelp = "Bookings created (idempotent replays not counted) by status";
constexpr const char* kCancelled = "cloudjet_bookings_cancelled_total";
constexpr const char* kCancelledHelp = "Bookings cancelled, by who cancelled them";

// Resolved at start-up (the set of label values is closed), so every series is on /metrics at 0
// before the first booking: a rate() over a series that appears late misses its first increase.
metrics::Counter& g_confirmed = child(kCreated, kCreatedHelp, "status", "CONFIRMED");
metrics::Counter& g_held = child(kCreated, kCreatedHelp, "status", "HELD");
metrics::Counter& g_by_user = child(kCancelled, kCancelledHelp, "by", "user");
metrics::Counter& g_by_admin = child(kCancelled, kCancelledHelp, "by", "admin");

}  // namespace

void created(std::string_view status) {
  (status == "HELD" ? g_held : g_confirmed).increment();
}

void cancelled(std::string_view by) {
  (by == "admin" ? g_by_admin : g_by_user).increment();
}

}  // namespace cj::booking::counters

#include "services/auth/counters.hpp"

#include "core/metrics.hpp"

namespace cj::auth::counters {
namespace {

metrics::Counter& child(const char* kind) {
  return metrics::Registry::instance().counter(
      "cloudjet_auth_throttled_total",
      "Login and signup requests refused with 429 by the attempt limiter", {{"kind", kind}});
}

// At start-up, so both series are on /metrics at 0 before the first refusal.
metrics::Counter& g_login = child("login");
metrics::Counter& g_signup = child("signup");

}  // namespace

void throttled(Throttle which) {
  (which == Throttle::Login ? g_login : g_signup).increment();
}

}  // namespace cj::auth::counters

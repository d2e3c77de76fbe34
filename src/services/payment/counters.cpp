#include "services/payment/counters.hpp"

#include <array>

#include "core/metrics.hpp"

namespace cj::payment::counters {
namespace {

std::array<metrics::Counter*, 4> resolve() {
  auto& registry = metrics::Registry::instance();
  const char* name = "cloudjet_payment_transitions_total";
  const char* help =
      "Payments that entered each state (REQUESTED at init, PAID by its webhook, "
      "FAILED, CANCELLED when its refund was queued)";
  return {&registry.counter(name, help, {{"state", "REQUESTED"}}),
          &registry.counter(name, help, {{"state", "PAID"}}),
          &registry.counter(name, help, {{"state", "FAILED"}}),
          &registry.counter(name, help, {{"state", "CANCELLED"}})};
}

// At start-up, so every state's series is on /metrics at 0 before its first payment.
const std::array<metrics::Counter*, 4> g_children = resolve();

}  // namespace

void entered(State state, int n) {
  if (n > 0) g_children.at(static_cast<std::size_t>(state))->increment(n);
}

}  // namespace cj::payment::counters

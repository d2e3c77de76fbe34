// Business counters of the payment service: payments entering each state, counted after the
// transaction that moved them committed (so never twice for a retried or replayed webhook).
#pragma once

namespace cj::payment::counters {

enum class State { Requested, Paid, Failed, Cancelled };

// `n` payments entered `state` (Cancelled: a captured payment whose refund was queued).
void entered(State state, int n = 1);

}  // namespace cj::payment::counters

// Booking's port to payments. A cancel or an expired hold refunds what its booking captured; the
// payment service implements this (wired in app/), so booking never calls into payment:: and a
// handler test can count refunds with a fake.
#pragma once

#include <string>

#include "core/db.hpp"

namespace cj::booking {

class Refunds {
 public:
  virtual ~Refunds() = default;
  // Inside the releasing transaction (the refund is queued if and only if the release commits):
  // queues one refund per captured payment of the booking; returns how many.
  virtual int queue_in_transaction(soci::session& s, long long booking_id,
                                   const std::string& reason) = 0;
  // After the commit of a release that queued `queued` (> 0) refunds: they go out now rather than
  // at the worker's next pass.
  virtual void send_queued(int queued) = 0;
};

}  // namespace cj::booking

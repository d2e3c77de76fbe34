// booking::Refunds without the payment service: counts what a release queued and whether it
// asked for the queue to be sent.
#pragma once

#include <string>
#include <vector>

#include "services/booking/refunds.hpp"

namespace cj::fakes {

class FakeRefunds final : public booking::Refunds {
 public:
  struct Queued {
    long long booking_id = 0;
    std::string reason;
  };
  int refunds_per_booking = 0;  // what queue_in_transaction reports (captured payments)
  std::vector<Queued> queued;
  int sends = 0;  // send_queued calls
  int sent = 0;   // refunds they announced

  int queue_in_transaction(soci::session&, long long booking_id,
                           const std::string& reason) override {
    queued.push_back({booking_id, reason});
    return refunds_per_booking;
  }
  void send_queued(int queued) override {
    ++sends;
    sent += queued;
  }
};

}  // namespace cj::fakes

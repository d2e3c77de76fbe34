// payment::PaymentGateway without the network: answers lookups from a table and records cancels.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "services/payment/gateway.hpp"

namespace cj::fakes {

class FakeGateway final : public payment::PaymentGateway {
 public:
  std::map<std::string, payment::Receipt> receipts;  // by receipt id
  std::vector<payment::CancelRequest> cancels;

  Result<payment::Receipt> lookup(const std::string& receipt_id) override {
    auto it = receipts.find(receipt_id);
    if (it == receipts.end()) {
      return Error{503, payment::kGatewayUnreachable, "", "unknown receipt", ""};
    }
    return it->second;
  }
  Status cancel(const payment::CancelRequest& request) override {
    cancels.push_back(request);
    return ok_status();
  }
};

}  // namespace cj::fakes

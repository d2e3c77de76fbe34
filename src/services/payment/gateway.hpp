// The payment gateway as the payment service sees it. Two implementations: Bootpay's REST API v2
// (production) and, in the tests, a fake Bootpay HTTP server reached through the same code.
#pragma once

#include <memory>
#include <string>

#include "core/result.hpp"

namespace cj::payment {

struct Receipt {
  std::string receipt_id;
  std::string order_id;
  long long price = 0;
  bool completed = false;
};

class PaymentGateway {
 public:
  virtual ~PaymentGateway() = default;
  // 503 gateway_unreachable when the gateway cannot be asked (then nothing may be marked).
  virtual Result<Receipt> lookup(const std::string& receipt_id) = 0;
  virtual Status cancel(const std::string& receipt_id, long long price,
                        const std::string& reason) = 0;
};

// BOOTPAY_API_URL, BOOTPAY_REST_API_KEY (application_id), BOOTPAY_PRIVATE_KEY.
std::shared_ptr<PaymentGateway> make_bootpay_gateway(const std::string& base_url,
                                                     const std::string& application_id,
                                                     const std::string& private_key);

}  // namespace cj::payment

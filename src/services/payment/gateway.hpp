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

// One refund. `cancel_id` names it for the gateway: a cancel sent again with the same id (after a
// lost answer or a claim taken over) is the same cancel, not a second refund.
struct CancelRequest {
  std::string receipt_id;
  long long price = 0;
  std::string reason;
  std::string cancel_id;
};

// Error codes of a failed call. Unreachable (transport error, 5xx, token trouble): try again
// later. Refused (a 4xx answer to the request itself): the same request will be refused again.
inline constexpr const char* kGatewayUnreachable = "gateway_unreachable";
inline constexpr const char* kGatewayRefused = "gateway_refused";

inline bool is_refusal(const Error& e) {
  return e.code == kGatewayRefused;
}

class PaymentGateway {
 public:
  virtual ~PaymentGateway() = default;
  // 503 gateway_unreachable when the gateway cannot be asked (then nothing may be marked).
  virtual Result<Receipt> lookup(const std::string& receipt_id) = 0;
  // gateway_unreachable (retry later) or gateway_refused (final) when the refund was not made.
  virtual Status cancel(const CancelRequest& request) = 0;
};

// BOOTPAY_API_URL, BOOTPAY_REST_API_KEY (application_id), BOOTPAY_PRIVATE_KEY.
std::shared_ptr<PaymentGateway> make_bootpay_gateway(const std::string& base_url,
                                                     const std::string& application_id,
                                                     const std::string& private_key);

}  // namespace cj::payment

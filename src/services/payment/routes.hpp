// The payment service's routes.
#pragma once

#include <memory>

#include "core/config.hpp"
#include "core/db.hpp"
#include "http/auth.hpp"
#include "http/types.hpp"
#include "services/payment/gateway.hpp"

namespace cj::payment {

class RefundWorker;

// What the payment service uses, built in app/.
struct Deps {
  db::Db& db;
  const Config& config;
  const http::Authenticator& authenticator;
  std::shared_ptr<PaymentGateway> gateway;  // null without BOOTPAY_* configured
  RefundWorker& refunds;                    // a late payment's refund goes out now
};

http::Service make_service(const Deps& deps);

}  // namespace cj::payment

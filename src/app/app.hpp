// The composition root: everything the services share at run time, built once at start. Each
// service gets only its own small Deps struct from here (build_services); none includes this.
#pragma once

#include <memory>
#include <vector>

#include "core/attempt_limiter.hpp"
#include "core/config.hpp"
#include "core/db.hpp"
#include "core/periodic_worker.hpp"
#include "core/redis.hpp"
#include "http/auth.hpp"
#include "http/types.hpp"
#include "services/booking/refunds.hpp"
#include "services/flight/catalog_cache.hpp"
#include "services/flight/catalog_invalidator.hpp"
#include "services/payment/gateway.hpp"
#include "services/payment/refund_worker.hpp"

namespace cj {

struct App {
  Config config;
  std::unique_ptr<db::Db> db;
  std::shared_ptr<redis::Client> redis;  // null when REDIS_HOST is unset
  std::unique_ptr<AttemptLimiter> login_limiter;
  // Flight search/featured/airports responses; writers invalidate after commit.
  std::unique_ptr<flight::CatalogCache> catalog_cache;
  // Reference data no endpoint writes (airports): always in process, TTL-bounded.
  std::unique_ptr<flight::CatalogCache> reference_cache;
  // Applies what every catalogue-changing write touched, after its commit (both caches above).
  std::unique_ptr<flight::CatalogInvalidator> catalog_invalidator;
  // Set when BOOTPAY_API_URL, BOOTPAY_REST_API_KEY and BOOTPAY_PRIVATE_KEY are configured.
  std::shared_ptr<payment::PaymentGateway> gateway;
  std::unique_ptr<payment::RefundWorker> refunds;
  // Booking's port to the refund outbox and worker above.
  std::unique_ptr<booking::Refunds> booking_refunds;
  // Every authenticated route checks tokens through this (signature, lifetime, user exists).
  http::Authenticator authenticator;
  // Marks bookings of departed flights COMPLETED (started by serve when it serves bookings).
  std::unique_ptr<PeriodicWorker> completions;
  // Releases expired holds (started by serve when it serves bookings).
  std::unique_ptr<PeriodicWorker> hold_sweeper;
  // Refunds captured payments no booking claimed (started by serve when it serves payments).
  std::unique_ptr<PeriodicWorker> orphan_refunder;
};

// Opens the database and Redis (when configured) described by `config`.
Result<std::unique_ptr<App>> open_app(Config config);

// The five services with their routes, bound to `app` (which must outlive them).
std::vector<http::Service> build_services(App& app);

}  // namespace cj

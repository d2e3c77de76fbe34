#include "app/app.hpp"

#include "services/admin/routes.hpp"
#include "services/auth/routes.hpp"
#include "services/auth/store.hpp"
#include "services/booking/completion_pass.hpp"
#include "services/booking/hold_sweep.hpp"
#include "services/booking/routes.hpp"
#include "services/flight/routes.hpp"
#include "services/payment/counters.hpp"
#include "services/payment/orphan_refunds.hpp"
#include "services/payment/routes.hpp"
#include "services/payment/store.hpp"

namespace cj {
namespace {
// Search bodies are a few KiB; the byte budget (CACHE_MAX_BYTES) is what really bounds memory.
constexpr std::size_t kMemoryCacheEntries = 20000;
// The airports list, a few KiB.
constexpr std::size_t kReferenceCacheBytes = std::size_t{1} * 1024 * 1024;

// Booking's refunds are the payment service's outbox (in the releasing transaction) and worker.
class OutboxRefunds final : public booking::Refunds {
 public:
  OutboxRefunds(db::Db& db, payment::RefundWorker& worker) : db_(db), worker_(worker) {}
  int queue_in_transaction(soci::session& s, long long booking_id,
                           const std::string& reason) override {
    return payment::queue_refunds_in_transaction(s, db_.is_sqlite(), booking_id, reason);
  }
  void send_queued(int queued) override {
    // Each queued refund is a captured payment that became CANCELLED in the committed release.
    payment::counters::entered(payment::counters::State::Cancelled, queued);
    worker_.kick();
  }

 private:
  db::Db& db_;
  payment::RefundWorker& worker_;
};
}  // namespace

Result<std::unique_ptr<App>> open_app(Config config) {
  auto app = std::make_unique<App>();
  app->config = std::move(config);
  auto db = db::Db::open(app->config.db);
  if (!db) return db.error();
  app->db = std::move(*db);
  const int workers =
      app->config.worker_threads > 0 ? app->config.worker_threads : app->config.db.pool_size;
  if (app->config.redis.enabled()) {
    app->redis = redis::Client::create(app->config.redis, workers + app->config.io_threads);
    app->login_limiter = make_redis_limiter(app->redis);
    app->catalog_cache = std::make_unique<flight::CatalogCache>(
        make_redis_cache(app->redis), app->config.search_cache_ttl_seconds);
  } else {
    app->login_limiter = make_memory_limiter();
    app->catalog_cache = std::make_unique<flight::CatalogCache>(
        make_memory_cache(kMemoryCacheEntries, app->config.cache_max_bytes),
        app->config.search_cache_ttl_seconds);
  }
  app->reference_cache = std::make_unique<flight::CatalogCache>(
      make_memory_cache(16, kReferenceCacheBytes), app->config.cache_ttl_seconds);
  app->catalog_invalidator =
      std::make_unique<flight::CacheInvalidator>(*app->catalog_cache, *app->reference_cache);
  const auto& c = app->config;
  if (!c.bootpay_api_url.empty() && !c.bootpay_rest_api_key.empty() &&
      !c.bootpay_private_key.empty()) {
    app->gateway = payment::make_bootpay_gateway(c.bootpay_api_url, c.bootpay_rest_api_key,
                                                 c.bootpay_private_key);
  }
  app->refunds = std::make_unique<payment::RefundWorker>(*app->db, app->gateway,
                                                         app->config.refund_lease_seconds);
  app->booking_refunds = std::make_unique<OutboxRefunds>(*app->db, *app->refunds);
  app->authenticator.secret = c.secret_key;
  app->authenticator.max_token_lifetime_seconds = c.jwt_ttl_seconds;
  app->authenticator.current_role = [db = app->db.get()](std::int64_t user_id) {
    return auth::AuthStore(*db).role_of(user_id);
  };
  // Whether or not completing worked, the purge runs: the two are independent.
  app->completions = std::make_unique<PeriodicWorker>(
      "completions", std::chrono::seconds(c.booking_complete_interval_seconds),
      [db = app->db.get()] {
        booking::complete_departed_bookings(*db);
        booking::purge_expired_idempotency_keys(*db);
      });
  App* a = app.get();
  // Holds off: nothing is ever HELD, so there is nothing to sweep.
  const int sweep_every = c.booking_hold_minutes > 0 ? c.sweep_interval_seconds : 0;
  app->hold_sweeper =
      std::make_unique<PeriodicWorker>("hold_sweeper", std::chrono::seconds(sweep_every), [a] {
        booking::sweep_expired_holds(*a->db, a->config.sales_cutoff_minutes,
                                     *a->catalog_invalidator, *a->booking_refunds);
      });
  const int orphan_every = c.orphan_payment_refund_minutes > 0 ? c.sweep_interval_seconds : 0;
  app->orphan_refunder =
      std::make_unique<PeriodicWorker>("orphan_refunder", std::chrono::seconds(orphan_every), [a] {
        payment::refund_orphaned_payments(*a->db, a->config.orphan_payment_refund_minutes,
                                          *a->refunds);
      });
  return app;
}

std::vector<http::Service> build_services(App& app) {
  const Config& c = app.config;
  const http::Authenticator& authn = app.authenticator;
  return {
      auth::make_service({*app.db, c, authn, *app.login_limiter}),
      flight::make_service({*app.db, c, *app.catalog_cache, *app.reference_cache}),
      booking::make_service(
          {*app.db, c, authn, *app.catalog_cache, *app.catalog_invalidator, *app.booking_refunds}),
      admin::make_service({*app.db, c, authn, *app.catalog_invalidator, *app.booking_refunds}),
      payment::make_service({*app.db, c, authn, app.gateway, *app.refunds}),
  };
}

}  // namespace cj

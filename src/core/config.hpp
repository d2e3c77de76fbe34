// The whole configuration, parsed and validated once at start. Nothing reads the environment
// after this.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/net_address.hpp"
#include "core/result.hpp"

namespace cj {

enum class DbKind { Sqlite, Mysql };

struct DbConfig {
  DbKind kind = DbKind::Sqlite;
  std::string sqlite_path;  // for Sqlite
  std::string host;         // for Mysql
  int port = 3306;
  std::string user;
  std::string password;
  std::string name;
  int pool_size = 8;
  int connect_timeout_seconds = 3;
  bool sqlite_full_sync = true;  // durability first: an answered booking survives a crash
  // How long `migrate` waits for another process's migration run (MySQL/MariaDB lock).
  int migration_lock_timeout_seconds = 300;
  // MySQL/MariaDB: a statement waiting this long for a row lock fails ("Lock wait timeout") and
  // its transaction is retried; kept below the client read timeout (10 s) so a lock wait never
  // looks like a lost connection.
  int lock_wait_timeout_seconds = 3;
};

struct RedisConfig {
  std::string host;  // empty: no Redis, in-process cache and counters
  int port = 6379;
  int db = 0;
  std::string password;
  int timeout_ms = 50;
  [[nodiscard]] bool enabled() const { return !host.empty(); }
};

struct ServicePorts {
  int auth = 5001;
  int flight = 5002;
  int booking = 5003;
  int admin = 5004;
  int payment = 5005;
};

struct LoginThrottle {
  int max_failures_per_email = 5;
  int max_failures_per_client = 50;
  int lockout_seconds = 300;
};

// Signups per client (address, or IPv6 /64) in a window: each one costs an Argon2 hash and a row.
struct SignupThrottle {
  int max_per_client = 30;
  int window_seconds = 600;
};

// The bounded worker pools (core/work_pool.hpp). Database work, password hashing and calls to the
// payment gateway each have their own threads, so a flood of one kind cannot starve the others.
struct PoolConfig {
  int cpu_threads = 0;      // 0: half the cores (at least 1)
  int gateway_threads = 4;  // outbound calls mostly wait
  std::size_t max_queue = 256;
  int max_wait_ms = 2000;        // refuse new work once the oldest queued task waited this long
  int queue_timeout_ms = 10000;  // a task not started within this is dropped (503)
  int retry_after_seconds = 1;
};

// OTLP/HTTP trace export (OTEL_* variables, core/otlp_exporter.hpp). No endpoint: spans are not
// recorded, trace ids are still made for the logs.
struct TraceConfig {
  std::string endpoint;           // the full traces URL (…/v1/traces); empty: no export
  std::string service_name;       // OTEL_SERVICE_NAME; empty: cloudjet-<service> per span
  int max_queue = 2048;           // OTEL_BSP_MAX_QUEUE_SIZE: spans waiting; more are dropped
  int max_batch = 512;            // OTEL_BSP_MAX_EXPORT_BATCH_SIZE
  int schedule_delay_ms = 1000;   // OTEL_BSP_SCHEDULE_DELAY
  int export_timeout_ms = 10000;  // OTEL_EXPORTER_OTLP_TIMEOUT: one POST
  [[nodiscard]] bool enabled() const { return !endpoint.empty(); }
};

struct Config {
  bool production = false;
  std::string data_dir = "./data";
  std::string secret_key;
  bool secret_key_generated = false;
  std::optional<std::string> admin_password;  // CLOUDJET_ADMIN_PASSWORD
  DbConfig db;
  RedisConfig redis;
  ServicePorts ports;
  std::vector<std::string> services{"auth", "flight", "booking", "admin", "payment"};
  std::optional<int> single_port;
  // METRICS_PORT: GET /metrics (and /ready) on a port of its own, and no longer on the service
  // ports, so that the metrics need not be public.
  std::optional<int> metrics_port;
  std::string bind_address = "0.0.0.0";
  int io_threads = 2;
  int worker_threads = 0;  // 0: same as the DB pool size
  std::size_t max_body_bytes = std::size_t{1024} * 1024;
  int max_connections = 4096;
  // Concurrent connections from one client address (IPv6: one /64); trusted proxies are exempt.
  int max_connections_per_client = 256;
  // Request line excluded: every header name and value together (431 above it).
  std::size_t max_header_bytes = std::size_t{16} * 1024;
  // Peers whose X-Forwarded-For is believed (http/client_address.hpp); empty: none.
  std::vector<net::Cidr> trusted_proxies;
  PoolConfig pools;
  int write_timeout_seconds = 30;
  // Idle keep-alive connections are closed after this; it also bounds a graceful shutdown.
  int keepalive_timeout_seconds = 5;
  int shutdown_grace_seconds = 9;
  std::vector<std::string> cors_origins;  // empty: no CORS headers; "*" allows any
  bool access_log = true;
  std::string log_level = "info";
  int jwt_ttl_seconds = 24 * 3600;
  int cache_ttl_seconds = 300;
  int search_cache_ttl_seconds = 300;
  // The in-process response cache, in bytes (the entry count is bounded too).
  std::size_t cache_max_bytes = std::size_t{64} * 1024 * 1024;
  LoginThrottle login;
  SignupThrottle signup;
  std::string bootpay_rest_api_key;
  std::string bootpay_private_key;
  std::string bootpay_api_url;
  // REFUND_LEASE_SECONDS: how long a refund worker holds a claimed refund before another replica
  // may take it over; the worker renews it while the gateway call runs.
  int refund_lease_seconds = 60;

  // ---- time: the service clock, sales cut-off, completed bookings (issue 12) ----
  // CLOUDJET_FAKE_NOW: the service clock reads this instant at start and runs on from there, so
  // tests can stand at 00:30 KST. Refused when CLOUDJET_ENV=production.
  std::optional<std::int64_t> fake_now_unix;
  // SALES_CUTOFF_MINUTES: a schedule leaves search and cannot be booked this long before it
  // departs.
  int sales_cutoff_minutes = 60;
  // BOOKING_COMPLETE_INTERVAL_SECONDS: how often the booking service marks the CONFIRMED bookings
  // of departed flights COMPLETED (0: never, in this process).
  int booking_complete_interval_seconds = 60;
  // BOOKING_HOLD_MINUTES: a booking made without a captured payment is HELD this long, then
  // released (0: off, every booking CONFIRMED at once, as the original front end expects).
  int booking_hold_minutes = 0;
  // SWEEP_INTERVAL_SECONDS: how often expired holds are released and orphaned payments refunded
  // (0: never, in this process).
  int sweep_interval_seconds = 15;
  // MAX_UNPAID_BOOKINGS_PER_USER: live bookings without a captured payment one account may have
  // (0: no limit). Without it one account can hold every seat.
  int max_unpaid_bookings_per_user = 10;
  // ORPHAN_PAYMENT_REFUND_MINUTES: a captured payment attached to no booking this long after it
  // was paid is refunded (0: never). The original front end pays before it books.
  int orphan_payment_refund_minutes = 30;
  // ---- end of time ----

  TraceConfig trace;

  [[nodiscard]] int port_of(const std::string& service) const;
};

// Values from flags override the environment, which overrides the .env file.
struct ConfigSources {
  std::map<std::string, std::string> env;     // the process environment
  std::map<std::string, std::string> dotenv;  // parsed .env file, if any
  std::map<std::string, std::string> flags;   // same names as the variables
};

// Reads KEY=VALUE lines (comments, blank lines, optional quotes, `export ` prefix).
std::map<std::string, std::string> parse_dotenv(const std::string& text);
std::map<std::string, std::string> environment_snapshot();

// Validates everything; the error message names the offending variable. Does not touch the disk.
Result<Config> load_config(const ConfigSources& sources);

// Creates the data dir and, in development, a persistent generated SECRET_KEY there.
Status prepare_data_dir(Config& config);

}  // namespace cj

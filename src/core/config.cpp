#include "core/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "core/local_time.hpp"
#include "core/security.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace cj {
namespace {

Error config_error(const std::string& text) {
  return Error{0, "config", text, text};
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// Looks a name up in flags, then the environment, then the .env file.
class Lookup {
 public:
  explicit Lookup(const ConfigSources& s) : s_(s) {}
  [[nodiscard]] std::optional<std::string> get(const std::string& name) const {
    for (const auto* m : {&s_.flags, &s_.env, &s_.dotenv}) {
      if (auto it = m->find(name); it != m->end()) return it->second;
    }
    return std::nullopt;
  }

 private:
  const ConfigSources& s_;
};

Result<int> parse_int(const std::string& name, const std::string& text, int lo, int hi) {
  int v = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || v < lo || v > hi) {
    return config_error(name + " must be an integer from " + std::to_string(lo) + " to " +
                        std::to_string(hi) + " (got '" + text + "')");
  }
  return v;
}

Result<bool> parse_bool(const std::string& name, const std::string& text) {
  std::string t = text;
  // unsigned char: std::tolower of a negative char (a byte >= 0x80) is undefined
  std::transform(t.begin(), t.end(), t.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "1" || t == "true" || t == "yes" || t == "on") return true;
  if (t == "0" || t == "false" || t == "no" || t == "off") return false;
  return config_error(name + " must be true or false (got '" + text + "')");
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// DATABASE_URL: sqlite:///abs/path, sqlite://rel/path, mysql://user:pass@host:port/db
// (mariadb:// is accepted too).
Status apply_database_url(const std::string& url, DbConfig& db) {
  const std::string name = "DATABASE_URL";
  if (url.rfind("sqlite://", 0) == 0) {
    db.kind = DbKind::Sqlite;
    db.sqlite_path = url.substr(9);
    if (db.sqlite_path.empty()) return config_error(name + " has no SQLite file path");
    return ok_status();
  }
  std::string rest;
  if (url.rfind("mysql://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("mariadb://", 0) == 0) {
    rest = url.substr(10);
  } else {
    return config_error(name + " must start with sqlite:// or mysql://");
  }
  db.kind = DbKind::Mysql;
  const auto at = rest.rfind('@');
  if (at != std::string::npos) {
    const std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = cred.find(':');
    db.user = percent_decode(cred.substr(0, colon));
    if (colon != std::string::npos) db.password = percent_decode(cred.substr(colon + 1));
  }
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 >= rest.size()) {
    return config_error(name + " must name a database: mysql://user:pass@host:port/dbname");
  }
  db.name = rest.substr(slash + 1);
  std::string hostport = rest.substr(0, slash);
  const auto colon = hostport.rfind(':');
  if (colon != std::string::npos) {
    auto port = parse_int(name + " port", hostport.substr(colon + 1), 1, 65535);
    if (!port) return port.error();
    db.port = *port;
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return config_error(name + " has no host");
  db.host = hostport;
  return ok_status();
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// ---- time (issue 12): the service clock and the sales rules ----
Status load_time_config(const Lookup& look, Config& c) {
  if (auto v = look.get("CLOUDJET_FAKE_NOW"); v && !v->empty()) {
    if (c.production) {
      return config_error(
          "CLOUDJET_FAKE_NOW is for tests and is refused when CLOUDJET_ENV=production");
    }
    auto instant = local_time::parse_instant(trim(*v));
    if (!instant) {
      return config_error(
          "CLOUDJET_FAKE_NOW must be an ISO-8601 instant with an offset, e.g. "
          "2026-12-02T00:30:00+09:00 or 2026-12-01T15:30:00Z (got '" +
          *v + "')");
    }
    c.fake_now_unix = *instant;
  }
  for (auto [name, target, hi] :
       {std::tuple{"SALES_CUTOFF_MINUTES", &c.sales_cutoff_minutes, 7 * 24 * 60},
        std::tuple{"BOOKING_COMPLETE_INTERVAL_SECONDS", &c.booking_complete_interval_seconds,
                   24 * 3600},
        std::tuple{"BOOKING_HOLD_MINUTES", &c.booking_hold_minutes, 7 * 24 * 60},
        std::tuple{"SWEEP_INTERVAL_SECONDS", &c.sweep_interval_seconds, 3600},
        std::tuple{"MAX_UNPAID_BOOKINGS_PER_USER", &c.max_unpaid_bookings_per_user, 1000},
        std::tuple{"ORPHAN_PAYMENT_REFUND_MINUTES", &c.orphan_payment_refund_minutes,
                   7 * 24 * 60}}) {
    if (auto v = look.get(name); v && !v->empty()) {
      auto parsed = parse_int(name, trim(*v), 0, hi);
      if (!parsed) return parsed.error();
      *target = *parsed;
    }
  }
  return ok_status();
}
// ---- end of time ----

// The OpenTelemetry SDK's variable names, so a collector's usual settings work unchanged.
Status load_trace_config(const Lookup& look, Config& c) {
  TraceConfig& t = c.trace;
  if (auto v = look.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v && !trim(*v).empty()) {
    t.endpoint = trim(*v);  // used as given
  } else if (auto base = look.get("OTEL_EXPORTER_OTLP_ENDPOINT"); base && !trim(*base).empty()) {
    std::string b = trim(*base);
    while (!b.empty() && b.back() == '/') b.pop_back();
    t.endpoint = b + "/v1/traces";
  }
  if (!t.endpoint.empty() && t.endpoint.rfind("http://", 0) != 0 &&
      t.endpoint.rfind("https://", 0) != 0) {
    return config_error(
        "OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be "
        "an http:// or https:// URL (got '" +
        t.endpoint + "')");
  }
  if (auto v = look.get("OTEL_SDK_DISABLED"); v && !v->empty()) {
    auto off = parse_bool("OTEL_SDK_DISABLED", trim(*v));
    if (!off) return off.error();
    if (*off) t.endpoint.clear();
  }
  if (auto v = look.get("OTEL_SERVICE_NAME")) t.service_name = trim(*v);
  for (auto [name, target, lo, hi] :
       {std::tuple{"OTEL_BSP_MAX_QUEUE_SIZE", &t.max_queue, 1, 1000000},
        std::tuple{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &t.max_batch, 1, 100000},
        std::tuple{"OTEL_BSP_SCHEDULE_DELAY", &t.schedule_delay_ms, 1, 3600000},
        std::tuple{"OTEL_EXPORTER_OTLP_TIMEOUT", &t.export_timeout_ms, 1, 600000}}) {
    if (auto v = look.get(name); v && !v->empty()) {
      auto parsed = parse_int(name, trim(*v), lo, hi);
      if (!parsed) return parsed.error();
      *target = *parsed;
    }
  }
  // As the SDK specifies: a batch never exceeds the queue.
  t.max_batch = std::min(t.max_batch, t.max_queue);
  return ok_status();
}

}  // namespace

int Config::port_of(const std::string& service) const {
  if (service == "auth") return ports.auth;
  if (service == "flight") return ports.flight;
  if (service == "booking") return ports.booking;
  if (service == "admin") return ports.admin;
  if (service == "payment") return ports.payment;
  return 0;
}

std::map<std::string, std::string> parse_dotenv(const std::string& text) {
  std::map<std::string, std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[key] = value;
  }
  return out;
}

std::map<std::string, std::string> environment_snapshot() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

Result<Config> load_config(const ConfigSources& sources) {
  const Lookup look(sources);
  Config c;

  auto int_var = [&](const std::string& name, int& target, int lo, int hi) -> Status {
    if (auto v = look.get(name); v && !v->empty()) {
      auto parsed = parse_int(name, *v, lo, hi);
      if (!parsed) return parsed.error();
      target = *parsed;
    }
    return ok_status();
  };
  auto bool_var = [&](const std::string& name, bool& target) -> Status {
    if (auto v = look.get(name); v && !v->empty()) {
      auto parsed = parse_bool(name, *v);
      if (!parsed) return parsed.error();
      target = *parsed;
    }
    return ok_status();
  };
  auto str_var = [&](const std::string& name, std::string& target) {
    if (auto v = look.get(name)) target = *v;
  };

  if (auto env = look.get("CLOUDJET_ENV")) {
    if (*env == "production") {
      c.production = true;
    } else if (!env->empty() && *env != "development" && *env != "test") {
      return config_error("CLOUDJET_ENV must be production, development or test (got '" + *env +
                          "')");
    }
  }
  str_var("CLOUDJET_DATA_DIR", c.data_dir);
  if (c.data_dir.empty()) return config_error("CLOUDJET_DATA_DIR must not be empty");

  str_var("SECRET_KEY", c.secret_key);
  if (c.production && c.secret_key.empty()) {
    return config_error("SECRET_KEY is required when CLOUDJET_ENV=production");
  }
  if (!c.secret_key.empty() && c.secret_key.size() < 16) {
    return config_error("SECRET_KEY must be at least 16 characters");
  }
  if (auto pw = look.get("CLOUDJET_ADMIN_PASSWORD"); pw && !pw->empty()) {
    if (pw->size() < 8)
      return config_error("CLOUDJET_ADMIN_PASSWORD must be at least 8 characters");
    c.admin_password = *pw;
  }

  // Database: DATABASE_URL wins over DB_*; neither means embedded SQLite in the data dir.
  if (auto url = look.get("DATABASE_URL"); url && !url->empty()) {
    if (auto st = apply_database_url(*url, c.db); !st) return st.error();
  } else if (auto host = look.get("DB_HOST"); host && !host->empty()) {
    c.db.kind = DbKind::Mysql;
    c.db.host = *host;
    str_var("DB_USER", c.db.user);
    str_var("DB_PASSWORD", c.db.password);
    c.db.name = "cloudjet_airline";
    str_var("DB_NAME", c.db.name);
    if (auto st = int_var("DB_PORT", c.db.port, 1, 65535); !st) return st.error();
    if (c.db.user.empty()) return config_error("DB_USER is required when DB_HOST is set");
  }
  if (c.db.kind == DbKind::Sqlite && c.db.sqlite_path.empty()) {
    c.db.sqlite_path = (std::filesystem::path(c.data_dir) / "cloudjet.db").string();
  }
  if (c.db.kind == DbKind::Sqlite) c.db.pool_size = 4;
  if (auto st = int_var("DB_POOL_SIZE", c.db.pool_size, 1, 256); !st) return st.error();
  if (auto st = int_var("DB_CONNECT_TIMEOUT", c.db.connect_timeout_seconds, 1, 60); !st) {
    return st.error();
  }
  if (auto st = bool_var("SQLITE_FULL_SYNC", c.db.sqlite_full_sync); !st) return st.error();
  if (auto st = int_var("MIGRATION_LOCK_TIMEOUT", c.db.migration_lock_timeout_seconds, 0, 86400);
      !st) {
    return st.error();
  }
  // Below the 10 s client read timeout of every MySQL connection (core/db.cpp).
  if (auto st = int_var("DB_LOCK_WAIT_TIMEOUT", c.db.lock_wait_timeout_seconds, 1, 9); !st) {
    return st.error();
  }

  str_var("REDIS_HOST", c.redis.host);
  if (auto st = int_var("REDIS_PORT", c.redis.port, 1, 65535); !st) return st.error();
  if (auto st = int_var("REDIS_DB", c.redis.db, 0, 15); !st) return st.error();
  str_var("REDIS_PASSWORD", c.redis.password);
  if (auto st = int_var("REDIS_TIMEOUT_MS", c.redis.timeout_ms, 1, 10000); !st) return st.error();

  for (auto [name, target] : {std::pair{"AUTH_SERVICE_PORT", &c.ports.auth},
                              std::pair{"FLIGHT_SERVICE_PORT", &c.ports.flight},
                              std::pair{"BOOKING_SERVICE_PORT", &c.ports.booking},
                              std::pair{"ADMIN_SERVICE_PORT", &c.ports.admin},
                              std::pair{"PAYMENT_SERVICE_PORT", &c.ports.payment}}) {
    if (auto st = int_var(name, *target, 1, 65535); !st) return st.error();
  }
  if (auto v = look.get("SERVICES"); v && !v->empty()) {
    c.services = split_list(*v);
    if (c.services.empty()) return config_error("SERVICES must name at least one service");
    for (const auto& s : c.services) {
      if (c.port_of(s) == 0) {
        return config_error("SERVICES has an unknown service '" + s +
                            "' (auth, flight, booking, admin, payment)");
      }
    }
  }
  if (auto v = look.get("SINGLE_PORT"); v && !v->empty()) {
    auto p = parse_int("SINGLE_PORT", *v, 1, 65535);
    if (!p) return p.error();
    c.single_port = *p;
  }
  if (auto v = look.get("METRICS_PORT"); v && !v->empty()) {
    auto p = parse_int("METRICS_PORT", *v, 1, 65535);
    if (!p) return p.error();
    c.metrics_port = *p;
    bool taken = c.single_port == *p;
    for (const auto& s : c.services) taken = taken || (!c.single_port && c.port_of(s) == *p);
    if (taken) return config_error("METRICS_PORT must differ from the ports the services serve");
  }
  str_var("BIND_ADDRESS", c.bind_address);
  if (auto st = int_var("IO_THREADS", c.io_threads, 1, 64); !st) return st.error();
  if (auto st = int_var("WORKER_THREADS", c.worker_threads, 0, 512); !st) return st.error();
  int max_body_kib = static_cast<int>(c.max_body_bytes / 1024);
  if (auto st = int_var("MAX_BODY_KIB", max_body_kib, 1, 1024 * 1024); !st) return st.error();
  c.max_body_bytes = static_cast<std::size_t>(max_body_kib) * 1024;
  if (auto st = int_var("MAX_CONNECTIONS", c.max_connections, 1, 1000000); !st) return st.error();
  if (auto st = int_var("MAX_CONNECTIONS_PER_CLIENT", c.max_connections_per_client, 1, 1000000);
      !st) {
    return st.error();
  }
  int max_header_kib = static_cast<int>(c.max_header_bytes / 1024);
  if (auto st = int_var("MAX_HEADER_KIB", max_header_kib, 1, 60); !st) return st.error();
  c.max_header_bytes = static_cast<std::size_t>(max_header_kib) * 1024;
  if (auto v = look.get("TRUSTED_PROXIES"); v && !v->empty()) {
    auto list = net::parse_cidr_list(*v);
    if (!list) return config_error("TRUSTED_PROXIES: " + list.error().message_en);
    c.trusted_proxies = std::move(*list);
  }
  if (auto st = int_var("CPU_THREADS", c.pools.cpu_threads, 0, 256); !st) return st.error();
  if (auto st = int_var("GATEWAY_THREADS", c.pools.gateway_threads, 1, 256); !st) return st.error();
  int max_queue = static_cast<int>(c.pools.max_queue);
  if (auto st = int_var("WORK_QUEUE_MAX", max_queue, 1, 100000); !st) return st.error();
  c.pools.max_queue = static_cast<std::size_t>(max_queue);
  if (auto st = int_var("WORK_QUEUE_MAX_WAIT_MS", c.pools.max_wait_ms, 1, 30000); !st) {
    return st.error();
  }
  // Below RESTinio's 60 s request limit, so a dropped task can still be answered.
  if (auto st = int_var("WORK_QUEUE_TIMEOUT_MS", c.pools.queue_timeout_ms, 1, 50000); !st) {
    return st.error();
  }
  if (c.pools.queue_timeout_ms < c.pools.max_wait_ms) {
    return config_error("WORK_QUEUE_TIMEOUT_MS must not be smaller than WORK_QUEUE_MAX_WAIT_MS");
  }
  if (auto st = int_var("RETRY_AFTER_SECONDS", c.pools.retry_after_seconds, 1, 3600); !st) {
    return st.error();
  }
  if (auto st = int_var("WRITE_TIMEOUT_SECONDS", c.write_timeout_seconds, 1, 3600); !st) {
    return st.error();
  }
  if (auto st = int_var("KEEPALIVE_TIMEOUT_SECONDS", c.keepalive_timeout_seconds, 1, 3600); !st) {
    return st.error();
  }
  if (auto st = int_var("SHUTDOWN_GRACE_SECONDS", c.shutdown_grace_seconds, 1, 3600); !st) {
    return st.error();
  }
  if (auto v = look.get("CORS_ORIGINS")) c.cors_origins = split_list(*v);
  if (auto st = bool_var("ACCESS_LOG", c.access_log); !st) return st.error();
  str_var("LOG_LEVEL", c.log_level);
  static const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
  if (std::find(levels.begin(), levels.end(), c.log_level) == levels.end()) {
    return config_error("LOG_LEVEL must be one of trace, debug, info, warn, error, off");
  }
  if (auto st = int_var("JWT_TTL_SECONDS", c.jwt_ttl_seconds, 60, 30 * 24 * 3600); !st) {
    return st.error();
  }
  if (auto st = int_var("CACHE_TTL", c.cache_ttl_seconds, 1, 86400); !st) return st.error();
  if (auto st = int_var("SEARCH_CACHE_TTL", c.search_cache_ttl_seconds, 1, 86400); !st) {
    return st.error();
  }
  int cache_max_bytes = static_cast<int>(c.cache_max_bytes);
  if (auto st = int_var("CACHE_MAX_BYTES", cache_max_bytes, 65536, 2147483647); !st) {
    return st.error();
  }
  c.cache_max_bytes = static_cast<std::size_t>(cache_max_bytes);
  if (auto st = int_var("LOGIN_MAX_FAILURES_PER_EMAIL", c.login.max_failures_per_email, 1, 1000000);
      !st) {
    return st.error();
  }
  if (auto st =
          int_var("LOGIN_MAX_FAILURES_PER_CLIENT", c.login.max_failures_per_client, 1, 1000000);
      !st) {
    return st.error();
  }
  if (auto st = int_var("LOGIN_LOCKOUT_SECONDS", c.login.lockout_seconds, 1, 86400); !st) {
    return st.error();
  }
  if (auto st = int_var("SIGNUP_MAX_PER_CLIENT", c.signup.max_per_client, 1, 1000000); !st) {
    return st.error();
  }
  if (auto st = int_var("SIGNUP_WINDOW_SECONDS", c.signup.window_seconds, 1, 86400); !st) {
    return st.error();
  }
  str_var("BOOTPAY_REST_API_KEY", c.bootpay_rest_api_key);
  str_var("BOOTPAY_PRIVATE_KEY", c.bootpay_private_key);
  str_var("BOOTPAY_API_URL", c.bootpay_api_url);
  // At least 2 s: the worker renews a third of the way in, so shorter leases would be lost to an
  // ordinary pause of the process or the database.
  if (auto st = int_var("REFUND_LEASE_SECONDS", c.refund_lease_seconds, 2, 3600); !st) {
    return st.error();
  }
  if (auto st = load_time_config(look, c); !st) return st.error();  // time (issue 12)
  if (auto st = load_trace_config(look, c); !st) return st.error();
  return c;
}

Status prepare_data_dir(Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return config_error("cannot create data dir " + config.data_dir + ": " + ec.message());
  if (!config.secret_key.empty()) return ok_status();

  // Development only (production refused earlier): keep one generated key so tokens survive
  // restarts.
  const auto path = std::filesystem::path(config.data_dir) / "secret_key";
  if (std::ifstream in(path); in) {
    std::getline(in, config.secret_key);
  }
  if (config.secret_key.size() < 32) {
    config.secret_key = security::hex_encode(security::random_bytes(32));
    const mode_t old = ::umask(077);
    std::ofstream out(path, std::ios::trunc);
    out << config.secret_key << '\n';
    ::umask(old);
    if (!out) return config_error("cannot write " + path.string());
  }
  config.secret_key_generated = true;
  return ok_status();
}

}  // namespace cj

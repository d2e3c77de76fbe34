#include "core/db.hpp"

#include <soci/mysql/soci-mysql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <map>
#include <random>
#include <shared_mutex>
#include <thread>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/trace.hpp"

namespace cj::db {
namespace {

constexpr int kLeaseTimeoutMs = 5000;
// Below busy_timeout (10 s): a writer that waited this long answers 503 instead of holding its
// worker thread for longer than the request queue would have kept it waiting.
constexpr auto kWriterWait = std::chrono::milliseconds(8000);

// SOCI's connection-string values are space separated, so values are quoted; its SQLite backend
// understands double quotes and its MySQL backend single quotes (both with backslash escapes).
std::string quoted(const std::string& v, char quote) {
  std::string out(1, quote);
  for (char c : v) {
    if (c == quote || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back(quote);
  return out;
}

std::string connection_string(const DbConfig& c) {
  if (c.kind == DbKind::Sqlite) return "db=" + quoted(c.sqlite_path, '"') + " timeout=10";
  std::string s = "host=" + quoted(c.host, '\'') + " port=" + std::to_string(c.port) +
                  " user=" + quoted(c.user, '\'') + " db=" + quoted(c.name, '\'') +
                  " charset=utf8mb4" +
                  " connect_timeout=" + std::to_string(c.connect_timeout_seconds) +
                  " read_timeout=10 write_timeout=10";
  if (!c.password.empty()) s += " password=" + quoted(c.password, '\'');
  return s;
}

// The latency histogram of each op name, resolved once: ops are string constants in the stores,
// a few dozen in all, so the map stops growing after warm-up and is read under a shared lock.
metrics::Histogram& op_histogram(std::string_view op) {
  static std::shared_mutex mu;
  static std::map<std::string, metrics::Histogram*, std::less<>> by_op;
  {
    std::shared_lock lock(mu);
    if (auto it = by_op.find(op); it != by_op.end()) return *it->second;
  }
  std::unique_lock lock(mu);
  auto it = by_op.find(op);
  if (it == by_op.end()) {
    auto* h = &metrics::Registry::instance().histogram(
        "cloudjet_db_query_duration_seconds",
        "Latency of each named database operation (a query or a transaction), retries included",
        {{"query", std::string(op)}}, metrics::fast_latency_buckets());
    it = by_op.emplace(std::string(op), h).first;
  }
  return *it->second;
}

}  // namespace

struct OpObserver::State {
  trace::Span span;
  metrics::Histogram& histogram;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  State(std::string_view op, metrics::Histogram& h)
      : span(op, trace::SpanKind::Client), histogram(h) {}
};

OpObserver::OpObserver(const Db& db, std::string_view op)
    : state_(std::make_unique<State>(op, op_histogram(op))) {
  if (state_->span.recording()) {
    state_->span.set("db.system.name", db.is_sqlite() ? "sqlite" : "mysql");
    state_->span.set("db.operation.name", op);
  }
}

OpObserver::~OpObserver() {
  state_->histogram.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - state_->start).count());
}

void OpObserver::failed(const Error& error) {
  // Store-level refusals (409 seat taken, 404) are answers, not database failures.
  if (error.status < 500) return;
  state_->span.set("error.type", error.code);
  state_->span.set_error(error.message_en);
}

Error unavailable_error() {
  return Error{503, "database_unavailable",
               "데이터베이스에 연결할 수 없습니다. 잠시 후 다시 시도해주세요.",
               "The database is unavailable. Please try again shortly."};
}

Error internal_error() {
  return Error{500, "internal_error", "서버 내부 오류가 발생했습니다.", "Internal server error."};
}

bool is_unique_violation(const soci::soci_error& e) {
  if (e.get_error_category() == soci::soci_error::constraint_violation) return true;
  const std::string what = e.what();
  return what.find("UNIQUE constraint failed") != std::string::npos ||
         what.find("Duplicate entry") != std::string::npos;
}

Lease::~Lease() {
  if (db_ != nullptr) db_->release(pos_);
}

soci::session& Lease::session() {
  return db_->pool_->at(pos_);
}

Db::Db(const DbConfig& config)
    : config_(config),
      dialect_(config.kind == DbKind::Sqlite ? Dialect::Sqlite : Dialect::Mysql),
      size_(static_cast<std::size_t>(config.pool_size)),
      pool_(std::make_unique<soci::connection_pool>(size_)),
      broken_(std::make_unique<std::atomic<bool>[]>(size_)) {
  for (std::size_t i = 0; i < size_; ++i) broken_[i] = true;
}

Db::~Db() = default;

Result<std::unique_ptr<Db>> Db::open(const DbConfig& config) {
  std::unique_ptr<Db> db(new Db(config));
  // A database that starts after us (compose, Kubernetes) is waited for, briefly.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto st = db->connect(0);
    if (st) break;
    if (std::chrono::steady_clock::now() > deadline) return st.error();
    log::warn("database not reachable yet, retrying", {{"error", st.error().message_en}});
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  for (std::size_t i = 1; i < db->size_; ++i) {
    if (auto st = db->connect(i); !st) return st.error();
  }
  return db;
}

// Opens `s` with the per-connection settings every session needs.
void Db::open_session(soci::session& s) {
  if (dialect_ == Dialect::Sqlite) {
    s.open(*soci::factory_sqlite3(), connection_string(config_));
    s << "PRAGMA journal_mode=WAL";
    s << (config_.sqlite_full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    s << "PRAGMA foreign_keys=ON";
    s << "PRAGMA busy_timeout=10000";
  } else {
    s.open(*soci::factory_mysql(), connection_string(config_));
    s << "SET SESSION sql_mode='STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'";
    s << "SET SESSION time_zone='+00:00'";
    s << "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";
    s << "SET SESSION innodb_lock_wait_timeout = " +
             std::to_string(config_.lock_wait_timeout_seconds);
  }
}

Status Db::connect(std::size_t pos) {
  soci::session& s = pool_->at(pos);
  try {
    s.close();  // drops the old backend, even when it can no longer ping
  } catch (const std::exception&) {
    // closing a dead connection may fail; we open a new one below either way
  }
  try {
    open_session(s);
    broken_[pos] = false;
    return ok_status();
  } catch (const std::exception& e) {
    broken_[pos] = true;
    Error err = unavailable_error();
    err.message_en = std::string("cannot connect to the database: ") + e.what();
    return err;
  }
}

Result<Db::WriterSlot> Db::writer_slot() {
  if (!is_sqlite()) return WriterSlot{};
  if (!sqlite_writer_.try_lock_for(kWriterWait)) {
    log::error("database writer busy", {{"waited_ms", kWriterWait.count()}});
    return unavailable_error();
  }
  return WriterSlot{sqlite_writer_};
}

Result<Lease> Db::acquire() {
  std::size_t pos = 0;
  if (!pool_->try_lease(pos, kLeaseTimeoutMs)) {
    log::error("database pool exhausted", {{"pool_size", size_}});
    return unavailable_error();
  }
  in_use_.fetch_add(1, std::memory_order_relaxed);
  Lease lease(*this, pos);
  if (broken_[pos]) {
    if (auto st = connect(pos); !st) {
      log::warn("database reconnect failed", {{"error", st.error().message_en}});
      return unavailable_error();
    }
    log::info("database connection re-established", {{"slot", pos}});
  }
  return Result<Lease>(std::move(lease));
}

void Db::release(std::size_t pos) {
  in_use_.fetch_sub(1, std::memory_order_relaxed);
  pool_->give_back(pos);
}

Error Db::on_failure(Lease& lease, std::string_view op, const char* what) {
  soci::session& s = lease.session();
  bool connected = false;
  try {
    connected = s.is_connected();
  } catch (const std::exception&) {
    connected = false;
  }
  if (!connected) {
    broken_[lease.position()] = true;
    log::error("database connection lost", {{"op", op}, {"error", what}});
    return unavailable_error();
  }
  log::error("database error", {{"op", op}, {"error", what}});
  return internal_error();
}

Error Db::busy(std::string_view op, const char* what) {
  log::warn("database contended, giving up after retries", {{"op", op}, {"error", what}});
  return unavailable_error();
}

void Db::begin(soci::session& s) {
  s << (is_sqlite() ? "BEGIN IMMEDIATE" : "START TRANSACTION");
}

void Db::rollback_quietly(soci::session& s) {
  try {
    s << "ROLLBACK";
  } catch (const std::exception&) {
    // the connection is gone; the server rolls the transaction back itself
  }
}

bool Db::is_retryable(const soci::soci_error& e) {
  const std::string what = e.what();
  return what.find("Deadlock found") != std::string::npos ||
         what.find("Lock wait timeout") != std::string::npos ||
         what.find("database is locked") != std::string::npos;
}

void Db::backoff(int attempt) {
  // Small, growing and jittered, so the retried transactions do not collide again.
  thread_local std::minstd_rand rng(std::random_device{}());
  const int ms = (1 << attempt) + static_cast<int>(rng() % 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

bool Db::ping() {
  std::lock_guard lock(ping_mu_);
  try {
    if (!ping_session_) {
      auto s = std::make_unique<soci::session>();
      open_session(*s);
      ping_session_ = std::move(s);
    }
    int one = 0;
    *ping_session_ << "SELECT 1", soci::into(one);
    return one == 1;
  } catch (const std::exception& e) {
    // Reconnect on the next ping: the server may be back by then.
    ping_session_.reset();
    log::warn("database ping failed", {{"error", e.what()}});
    return false;
  }
}

}  // namespace cj::db

#include "core/db.hpp"

#include <soci/mysql/soci-mysql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
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

// units / commits is the mean batch size: how many writes shared each fsync.
struct GroupCommitCounters {
  metrics::Counter& units;
  metrics::Counter& commits;
};

GroupCommitCounters& group_commit_counters() {
  static GroupCommitCounters c{
      metrics::Registry::instance().counter(
          "cloudjet_db_group_commit_units_total",
          "SQLite transactions and writes committed by group commit", {}),
      metrics::Registry::instance().counter(
          "cloudjet_db_group_commits_total",
          "SQLite COMMITs made by group commit (each one fsync with synchronous=FULL)", {})};
  return c;
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

// A unit waiting for (or in) a batch. Lives on the submitting thread's stack, which stays blocked
// in run_unit until `done`, so the leader may run `unit` and write `status` through the pointer.
struct Db::Pending {
  const WriteUnit* unit;
  std::string_view op;
  bool taken = false;  // in a batch: the leader will run it, so it can no longer give up
  bool done = false;
  Status status = ok_status();
  // The submitter's trace context: the leader runs the unit under it, so what the unit logs
  // carries the trace of the request it belongs to, not the leader's.
  std::optional<trace::SpanContext> trace_ctx;
  std::string trace_service;
};

Status Db::run_unit(std::string_view op, const WriteUnit& unit) {
  Pending me{&unit, op};
  if (const trace::SpanContext* ctx = trace::current()) {
    me.trace_ctx = *ctx;
    me.trace_service = trace::current_service();
  }
  const auto deadline = std::chrono::steady_clock::now() + kWriterWait;
  std::unique_lock lock(batch_mu_);
  batch_queue_.push_back(&me);
  while (!me.done) {
    if (!batch_leader_) {
      // Lead one batch: the oldest queued units (ours among them unless the queue is longer
      // than a batch, in which case we lead again or follow until ours ran).
      batch_leader_ = true;
      std::vector<Pending*> batch;
      while (!batch_queue_.empty() && batch.size() < kMaxBatch) {
        batch_queue_.front()->taken = true;
        batch.push_back(batch_queue_.front());
        batch_queue_.pop_front();
      }
      lock.unlock();
      run_batch(batch);
      lock.lock();
      for (Pending* p : batch) p->done = true;
      batch_leader_ = false;
      batch_cv_.notify_all();
      continue;
    }
    if (batch_cv_.wait_until(lock, deadline) == std::cv_status::timeout && !me.taken && !me.done) {
      // Queued for kWriterWait without a batch taking us: answer 503 rather than hold the
      // worker thread longer than the request queue would have kept the request waiting.
      batch_queue_.erase(std::find(batch_queue_.begin(), batch_queue_.end(), &me));
      log::error("database writer busy", {{"waited_ms", kWriterWait.count()}, {"op", op}});
      return unavailable_error();
    }
  }
  return me.status;
}

void Db::run_batch(const std::vector<Pending*>& batch) {
  auto fail_all = [&](const Error& e) {
    for (Pending* p : batch) p->status = e;
  };
  auto lease = acquire();
  if (!lease) return fail_all(lease.error());
  soci::session& s = lease->session();
  // Another process on the same file may hold the write lock past busy_timeout.
  for (int attempt = 1;; ++attempt) {
    try {
      s << "BEGIN IMMEDIATE";
      break;
    } catch (const soci::soci_error& e) {
      if (is_retryable(e) && attempt < kDeadlockAttempts) {
        backoff(attempt);
        continue;
      }
      return fail_all(is_retryable(e) ? busy(batch.front()->op, e.what())
                                      : on_failure(*lease, batch.front()->op, e.what()));
    }
  }
  for (Pending* p : batch) {
    try {
      s << "SAVEPOINT cj_unit";
      std::optional<trace::Scope> scope;
      if (p->trace_ctx) scope.emplace(*p->trace_ctx, p->trace_service);
      const bool keep = (*p->unit)(s);
      if (!keep) s << "ROLLBACK TO cj_unit";
      s << "RELEASE cj_unit";
    } catch (const std::exception& e) {
      // This unit alone is undone; the others of the batch stand unless the connection is gone.
      p->status = on_failure(*lease, p->op, e.what());
      try {
        s << "ROLLBACK TO cj_unit";
        s << "RELEASE cj_unit";
      } catch (const std::exception&) {
        rollback_quietly(s);
        return fail_all(unavailable_error());
      }
      if (p->status.error().status == 503) {
        rollback_quietly(s);
        return fail_all(p->status.error());
      }
    }
  }
  try {
    s << "COMMIT";
    units_run_.fetch_add(batch.size(), std::memory_order_relaxed);
    batches_committed_.fetch_add(1, std::memory_order_relaxed);
    group_commit_counters().units.increment(static_cast<double>(batch.size()));
    group_commit_counters().commits.increment();
  } catch (const std::exception& e) {
    rollback_quietly(s);
    fail_all(on_failure(*lease, batch.front()->op, e.what()));
  }
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

// The one database interface the stores use: a pool of SOCI sessions for SQLite or MariaDB/MySQL,
// `run` for a unit of work on a leased connection and `transaction` for a write that commits only
// when its body succeeds. Database failures become Error values here (503 when the server is
// unreachable), so no store or route sees a soci exception.
#pragma once

#include <soci/soci.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/config.hpp"
#include "core/result.hpp"

namespace cj::db {

enum class Dialect { Sqlite, Mysql };

Error unavailable_error();
Error internal_error();
// True when a soci error is a UNIQUE / duplicate-key violation.
bool is_unique_violation(const soci::soci_error& e);

class Db;

// One named database operation (the `op` of run/transaction/write) as observed: a CLIENT span
// named by the op, child of the thread's current span, and the op's latency in
// cloudjet_db_query_duration_seconds{query=op}.
class OpObserver {
 public:
  OpObserver(const Db& db, std::string_view op);
  ~OpObserver();
  OpObserver(const OpObserver&) = delete;
  OpObserver& operator=(const OpObserver&) = delete;
  void failed(const Error& error);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

namespace detail {
template <typename T>
Result<T> wrap(Result<T> r) {
  return r;
}
template <typename T>
Result<T> wrap(T v) {
  return Result<T>(std::move(v));
}
}  // namespace detail
using detail::wrap;

// A leased pooled connection, returned to the pool on destruction.
class Lease {
 public:
  Lease(Db& db, std::size_t pos) : db_(&db), pos_(pos) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease(Lease&& o) noexcept : db_(o.db_), pos_(o.pos_) { o.db_ = nullptr; }
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  soci::session& session();
  [[nodiscard]] std::size_t position() const { return pos_; }

 private:
  Db* db_;
  std::size_t pos_;
};

class Db {
 public:
  static Result<std::unique_ptr<Db>> open(const DbConfig& config);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  [[nodiscard]] Dialect dialect() const { return dialect_; }
  [[nodiscard]] const DbConfig& config() const { return config_; }
  [[nodiscard]] bool is_sqlite() const { return dialect_ == Dialect::Sqlite; }
  [[nodiscard]] int pool_size() const { return static_cast<int>(size_); }
  [[nodiscard]] int in_use() const { return in_use_.load(std::memory_order_relaxed); }
  // SQLite group commit: units run and COMMITs made (units / batches = the mean batch size).
  [[nodiscard]] unsigned long long units_run() const {
    return units_run_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] unsigned long long batches_committed() const {
    return batches_committed_.load(std::memory_order_relaxed);
  }

  // fn(soci::session&) -> Result<T> (or T). Runs on a leased connection; soci errors become
  // Error values (503 when the connection is lost; the connection is re-opened on next use).
  template <typename F>
  auto run(std::string_view op, F&& fn) -> decltype(wrap(fn(std::declval<soci::session&>()))) {
    using R = decltype(wrap(fn(std::declval<soci::session&>())));
    OpObserver observer(*this, op);
    R result = [&]() -> R {
      auto lease = acquire();
      if (!lease) return R(lease.error());
      try {
        return wrap(fn(lease->session()));
      } catch (const soci::soci_error& e) {
        return R(on_failure(*lease, op, e.what()));
      } catch (const std::exception& e) {
        return R(on_failure(*lease, op, e.what()));
      }
    }();
    if (!result) observer.failed(result.error());
    return result;
  }

  // Like run, inside a transaction (BEGIN IMMEDIATE on SQLite so writers queue instead of
  // deadlocking; START TRANSACTION on MySQL). Commits when fn returns a value, rolls back when it
  // returns an Error or throws.
  template <typename F>
  auto transaction(std::string_view op, F&& fn)
      -> decltype(wrap(fn(std::declval<soci::session&>()))) {
    OpObserver observer(*this, op);
    auto result = with_retries(op, /*in_transaction=*/true, fn);
    if (!result) observer.failed(result.error());
    return result;
  }

  // One autocommit write statement (or a few that need no atomicity), e.g. an INSERT whose
  // UNIQUE violation fn turns into an Error. On SQLite it is a unit of the single writer's group
  // commit like a transaction: a write outside it would meet a writer inside SQLite's busy
  // handler and could fail after busy_timeout under booking load.
  template <typename F>
  auto write(std::string_view op, F&& fn) -> decltype(wrap(fn(std::declval<soci::session&>()))) {
    OpObserver observer(*this, op);
    auto result = with_retries(op, /*in_transaction=*/false, fn);
    if (!result) observer.failed(result.error());
    return result;
  }

  // True when a trivial query succeeds (for /ready). Uses a connection of its own, so a pool
  // leased out to busy requests does not make a healthy database look down.
  bool ping();

  // The SQL text for the current dialect: `sqlite` or `mysql`.
  [[nodiscard]] const char* pick(const char* sqlite, const char* mysql) const {
    return is_sqlite() ? sqlite : mysql;
  }

 private:
  friend class Lease;
  explicit Db(const DbConfig& config);
  void open_session(soci::session& s);
  Status connect(std::size_t pos);
  Result<Lease> acquire();
  void release(std::size_t pos);
  Error on_failure(Lease& lease, std::string_view op, const char* what);
  static Error busy(std::string_view op, const char* what);
  void begin(soci::session& s);
  static void rollback_quietly(soci::session& s);
  static bool is_retryable(const soci::soci_error& e);
  static void backoff(int attempt);
  static constexpr int kDeadlockAttempts = 4;

  // SQLite's single writer, with group commit. Every transaction or write is a *unit*: queued,
  // then run by whichever waiting thread is the leader at the time, together with the units that
  // queued while the previous batch was committing — one BEGIN IMMEDIATE, each unit in its own
  // SAVEPOINT (a unit that fails is rolled back to it alone), one COMMIT, i.e. one fsync for the
  // whole batch. A unit's result is handed back only after that COMMIT succeeded, so an answer
  // still never precedes the durability of what it reports; a failed COMMIT fails every unit of
  // the batch. `unit` returns whether its changes stay (false: roll back to its savepoint).
  using WriteUnit = std::function<bool(soci::session&)>;
  Status run_unit(std::string_view op, const WriteUnit& unit);
  struct Pending;
  void run_batch(const std::vector<Pending*>& batch);
  static constexpr std::size_t kMaxBatch = 64;

  template <typename F>
  auto with_retries(std::string_view op, bool in_transaction, F& fn)
      -> decltype(wrap(fn(std::declval<soci::session&>()))) {
    using R = decltype(wrap(fn(std::declval<soci::session&>())));
    if (is_sqlite()) {
      std::optional<R> result;
      const WriteUnit unit = [&](soci::session& s) {
        result.emplace(wrap(fn(s)));
        // An autocommit write keeps what its statements did even when it answers an error
        // (e.g. the INSERT that met a UNIQUE key), as it would outside a batch.
        return result->ok() || !in_transaction;
      };
      if (auto st = run_unit(op, unit); !st) return R(st.error());
      return std::move(*result);
    }
    auto lease = acquire();
    if (!lease) return R(lease.error());
    soci::session& s = lease->session();
    // InnoDB may pick this transaction as a deadlock victim (e.g. two inserts of the same new
    // key), or a lock wait may time out; the whole unit of work is then simply run again.
    for (int attempt = 1;; ++attempt) {
      bool open = false;
      try {
        if (in_transaction) {
          begin(s);
          open = true;
        }
        R result = wrap(fn(s));
        if (in_transaction) {
          if (result.ok()) {
            s << "COMMIT";
          } else {
            s << "ROLLBACK";
          }
        }
        return result;
      } catch (const soci::soci_error& e) {
        if (open) rollback_quietly(s);
        if (is_retryable(e)) {
          if (attempt < kDeadlockAttempts) {
            backoff(attempt);
            continue;
          }
          // Still contended after every attempt: the database is busy, not broken.
          return R(busy(op, e.what()));
        }
        return R(on_failure(*lease, op, e.what()));
      } catch (const std::exception& e) {
        if (open) rollback_quietly(s);
        return R(on_failure(*lease, op, e.what()));
      }
    }
  }

  DbConfig config_;
  Dialect dialect_;
  std::size_t size_;
  std::unique_ptr<soci::connection_pool> pool_;
  std::unique_ptr<std::atomic<bool>[]> broken_;
  std::atomic<int> in_use_{0};
  // The group-commit queue (SQLite): units waiting for a batch, and whether a leader runs one.
  std::mutex batch_mu_;
  std::condition_variable batch_cv_;
  std::deque<Pending*> batch_queue_;
  bool batch_leader_ = false;
  std::atomic<unsigned long long> units_run_{0};
  std::atomic<unsigned long long> batches_committed_{0};
  std::mutex ping_mu_;
  std::unique_ptr<soci::session> ping_session_;  // guarded by ping_mu_; null until first ping
};

}  // namespace cj::db

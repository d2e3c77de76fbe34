#include "core/redis.hpp"

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/trace.hpp"

namespace cj::redis {
namespace {

using Clock = std::chrono::steady_clock;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::Array;
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default: out.type = Reply::Type::Nil;
  }
  return out;
}

// The span and histogram name of a call: its command word (upper-cased, never an argument), or
// PIPELINE for several commands in one round trip.
std::string operation_of(const std::vector<std::vector<std::string>>& commands) {
  if (commands.size() != 1 || commands.front().empty()) return "PIPELINE";
  std::string word = commands.front().front().substr(0, 32);
  for (char& c : word) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return word;
}

// Children resolved once per command word (a handful, all from code).
metrics::Histogram& command_histogram(const std::string& command) {
  static std::mutex mu;
  static std::map<std::string, metrics::Histogram*> by_command;
  std::lock_guard lock(mu);
  auto& h = by_command[command];
  if (h == nullptr) {
    h = &metrics::Registry::instance().histogram(
        "cloudjet_redis_command_duration_seconds",
        "Latency of Redis calls by command (PIPELINE for several in one round trip)",
        {{"command", command}}, metrics::fast_latency_buckets());
  }
  return *h;
}

metrics::Counter& error_counter(const char* kind) {
  return metrics::Registry::instance().counter(
      "cloudjet_redis_errors_total",
      "Redis calls that failed: unreachable (connect, timeout, lost connection) or reply_error",
      {{"kind", kind}});
}

class PooledClient final : public Client, public std::enable_shared_from_this<PooledClient> {
 public:
  PooledClient(const RedisConfig& config, int pool_size)
      : config_(config), max_(static_cast<std::size_t>(std::max(1, pool_size))) {}

  std::optional<Reply> command(const std::vector<std::string>& argv) override {
    auto r = pipeline({argv});
    if (!r) return std::nullopt;
    return std::move(r->front());
  }

  std::optional<std::vector<Reply>> pipeline(
      const std::vector<std::vector<std::string>>& commands) override {
    static metrics::Counter& unreachable = error_counter("unreachable");
    static metrics::Counter& reply_error = error_counter("reply_error");
    const std::string op = operation_of(commands);
    trace::Span span(op, trace::SpanKind::Client);
    if (span.recording()) {
      span.set("db.system.name", "redis");
      span.set("db.operation.name", op);
      if (commands.size() > 1) {
        span.set("db.operation.batch.size", static_cast<std::int64_t>(commands.size()));
      }
    }
    const auto start = Clock::now();
    auto out = round_trip(commands);
    command_histogram(op).observe(std::chrono::duration<double>(Clock::now() - start).count());
    if (!out) {
      unreachable.increment();
      span.set("error.type", "unreachable");
      span.set_error("redis unreachable");
      return out;
    }
    for (const auto& r : *out) {
      if (r.type == Reply::Type::Error) {
        reply_error.increment();
        span.set("error.type", "reply_error");
        span.set_error(r.str.substr(0, 120));
        break;
      }
    }
    return out;
  }

  [[nodiscard]] bool healthy() const override { return !down_.load(); }

 private:
  std::optional<std::vector<Reply>> round_trip(
      const std::vector<std::vector<std::string>>& commands) {
    ContextPtr ctx = checkout();
    if (!ctx) return std::nullopt;
    for (const auto& argv : commands) {
      std::vector<const char*> parts;
      std::vector<std::size_t> lens;
      for (const auto& a : argv) {
        parts.push_back(a.data());
        lens.push_back(a.size());
      }
      if (redisAppendCommandArgv(ctx.get(), static_cast<int>(parts.size()), parts.data(),
                                 lens.data()) != REDIS_OK) {
        return fail(ctx->errstr);
      }
    }
    std::vector<Reply> out;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx.get(), &raw) != REDIS_OK || raw == nullptr) {
        return fail(ctx->errstr);
      }
      ReplyPtr reply(static_cast<redisReply*>(raw));
      out.push_back(convert(reply.get()));
    }
    checkin(std::move(ctx));
    mark_up();
    return out;
  }

  ContextPtr checkout() {
    {
      std::unique_lock lock(mu_);
      if (!idle_.empty()) {
        ContextPtr c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
      // While down, one connection attempt per second at most; everyone else fails fast.
      if (down_.load() && Clock::now() < next_attempt_) return nullptr;
      if (down_.load()) next_attempt_ = Clock::now() + std::chrono::seconds(1);
    }
    return connect();
  }

  void checkin(ContextPtr c) {
    std::lock_guard lock(mu_);
    if (idle_.size() < max_) idle_.push_back(std::move(c));
  }

  ContextPtr connect() {
    const timeval tv{config_.timeout_ms / 1000,
                     static_cast<suseconds_t>(config_.timeout_ms % 1000) * 1000};
    ContextPtr c(redisConnectWithTimeout(config_.host.c_str(), config_.port, tv));
    if (!c || c->err != 0) {
      mark_down(c ? c->errstr : "cannot allocate redis context");
      return nullptr;
    }
    redisSetTimeout(c.get(), tv);
    if (!config_.password.empty()) {
      ReplyPtr r(static_cast<redisReply*>(
          redisCommand(c.get(), "AUTH %b", config_.password.data(), config_.password.size())));
      if (!r || r->type == REDIS_REPLY_ERROR) {
        mark_down("redis AUTH failed");
        return nullptr;
      }
    }
    if (config_.db != 0) {
      ReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "SELECT %d", config_.db)));
      if (!r || r->type == REDIS_REPLY_ERROR) {
        mark_down("redis SELECT failed");
        return nullptr;
      }
    }
    return c;
  }

  std::nullopt_t fail(const char* why) {
    mark_down(why);
    return std::nullopt;
  }

  void mark_down(const char* why) {
    std::lock_guard lock(mu_);
    idle_.clear();  // connections of a failed server are all suspect
    if (!down_.exchange(true)) {
      next_attempt_ = Clock::now() + std::chrono::seconds(1);
      log::warn("redis unavailable, falling back to in-process",
                {{"host", config_.host}, {"port", config_.port}, {"error", why}});
    }
  }

  void mark_up() {
    if (down_.exchange(false)) {
      log::info("redis available again", {{"host", config_.host}, {"port", config_.port}});
    }
  }

  RedisConfig config_;
  std::size_t max_;
  std::mutex mu_;
  std::vector<ContextPtr> idle_;
  std::atomic<bool> down_{false};
  Clock::time_point next_attempt_{};
};

}  // namespace

std::shared_ptr<Client> Client::create(const RedisConfig& config, int pool_size) {
  return std::make_shared<PooledClient>(config, pool_size);
}

}  // namespace cj::redis

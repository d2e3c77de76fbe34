#include "core/attempt_limiter.hpp"

#include <chrono>
#include <mutex>
#include <unordered_map>

namespace cj {
namespace {

using Clock = std::chrono::steady_clock;

class MemoryLimiter final : public AttemptLimiter {
 public:
  int retry_after(const std::string& key, int max_failures) override {
    std::lock_guard lock(mu_);
    auto it = counts_.find(key);
    if (it == counts_.end()) return 0;
    const auto now = Clock::now();
    if (it->second.expires <= now) {
      counts_.erase(it);
      return 0;
    }
    if (it->second.failures < max_failures) return 0;
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(it->second.expires - now);
    return static_cast<int>(std::max<long long>(1, left.count() + 1));
  }

  void record_failure(const std::string& key, int window_seconds) override {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    if (counts_.size() > kMaxKeys) prune(now);
    auto& e = counts_[key];
    if (e.expires <= now) {
      e.failures = 0;
      e.expires = now + std::chrono::seconds(window_seconds);
    }
    ++e.failures;
  }

  void reset(const std::string& key) override {
    std::lock_guard lock(mu_);
    counts_.erase(key);
  }

 private:
  // Bounded memory under a flood of distinct keys: expired entries go first.
  static constexpr std::size_t kMaxKeys = 100000;
  void prune(Clock::time_point now) {
    for (auto it = counts_.begin(); it != counts_.end();) {
      it = it->second.expires <= now ? counts_.erase(it) : std::next(it);
    }
    if (counts_.size() > kMaxKeys) counts_.clear();
  }

  struct Entry {
    int failures = 0;
    Clock::time_point expires{};
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> counts_;
};

class RedisLimiter final : public AttemptLimiter {
 public:
  explicit RedisLimiter(std::shared_ptr<redis::Client> client)
      : client_(std::move(client)), fallback_(make_memory_limiter()) {}

  int retry_after(const std::string& key, int max_failures) override {
    auto r = client_->pipeline({{"GET", prefixed(key)}, {"PTTL", prefixed(key)}});
    if (!r) return fallback_->retry_after(key, max_failures);
    const auto& count = (*r)[0];
    if (count.type != redis::Reply::Type::String) return 0;
    if (std::atoll(count.str.c_str()) < max_failures) return 0;
    const long long ms = (*r)[1].integer;
    return ms > 0 ? static_cast<int>(ms / 1000 + 1) : 1;
  }

  void record_failure(const std::string& key, int window_seconds) override {
    // INCR then set the expiry only if none is set, so the window starts at the first failure.
    auto r = client_->pipeline(
        {{"INCR", prefixed(key)}, {"EXPIRE", prefixed(key), std::to_string(window_seconds), "NX"}});
    if (!r || (*r)[1].type == redis::Reply::Type::Error) {
      // Redis < 7 has no EXPIRE NX: fall back to setting it on the first failure.
      if (r && (*r)[0].integer == 1) {
        client_->command({"EXPIRE", prefixed(key), std::to_string(window_seconds)});
      }
      if (!r) fallback_->record_failure(key, window_seconds);
    }
  }

  void reset(const std::string& key) override {
    if (!client_->command({"DEL", prefixed(key)})) fallback_->reset(key);
  }

 private:
  static std::string prefixed(const std::string& key) { return "cloudjet:attempts:" + key; }
  std::shared_ptr<redis::Client> client_;
  std::unique_ptr<AttemptLimiter> fallback_;
};

}  // namespace

std::unique_ptr<AttemptLimiter> make_memory_limiter() {
  return std::make_unique<MemoryLimiter>();
}

std::unique_ptr<AttemptLimiter> make_redis_limiter(std::shared_ptr<redis::Client> client) {
  return std::make_unique<RedisLimiter>(std::move(client));
}

}  // namespace cj

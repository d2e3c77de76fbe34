// Counts failures per key (a login email, a client address) in a fixed window and says how long a
// key must wait once it reached its limit. In process by default; in Redis when configured, so
// that every replica sees the same counts.
#pragma once

#include <memory>
#include <string>

#include "core/redis.hpp"

namespace cj {

class AttemptLimiter {
 public:
  virtual ~AttemptLimiter() = default;
  // Seconds until `key` may try again; 0 when it has fewer than `max_failures` failures.
  virtual int retry_after(const std::string& key, int max_failures) = 0;
  // Counts one failure; the count expires `window_seconds` after the first failure.
  virtual void record_failure(const std::string& key, int window_seconds) = 0;
  virtual void reset(const std::string& key) = 0;
};

std::unique_ptr<AttemptLimiter> make_memory_limiter();
// Uses Redis, and the in-process limiter while Redis is unreachable.
std::unique_ptr<AttemptLimiter> make_redis_limiter(std::shared_ptr<redis::Client> client);

}  // namespace cj

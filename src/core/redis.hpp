// A small Redis client over hiredis: a pool of blocking connections with short timeouts. When
// Redis is down every call fails fast (no reconnect storm: one attempt per second at most), and
// callers fall back to their in-process path. The outage is logged once, not per request.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace cj::redis {

struct Reply {
  enum class Type { Nil, Integer, String, Array, Status, Error } type = Type::Nil;
  long long integer = 0;
  std::string str;
  std::vector<Reply> elements;
};

class Client {
 public:
  static std::shared_ptr<Client> create(const RedisConfig& config, int pool_size);
  virtual ~Client() = default;
  // nullopt when Redis is unreachable or timed out (the connection is dropped and re-opened
  // later); a Reply of Type::Error for a Redis-level error.
  virtual std::optional<Reply> command(const std::vector<std::string>& argv) = 0;
  // Several commands in one round trip (MULTI/EXEC is the caller's business).
  virtual std::optional<std::vector<Reply>> pipeline(
      const std::vector<std::vector<std::string>>& commands) = 0;
  [[nodiscard]] virtual bool healthy() const = 0;
};

}  // namespace cj::redis

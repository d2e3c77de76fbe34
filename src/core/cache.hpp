// Response cache with per-group versions (a group is e.g. one (route, date) of flight search).
//
// Why versions rather than deleting keys: a reader that missed, queried the database before a
// write committed and stores its (old) result after the writer invalidated would otherwise put a
// stale entry back for a whole TTL. With versions, the writer bumps the group's version after
// commit; readers look the version up first and store under the version they read, so a late
// store lands under a version nobody reads any more. In Redis the versions are shared, so a write
// on one replica invalidates what every replica serves.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "core/redis.hpp"

namespace cj {

class Cache {
 public:
  // A stored body, shared and immutable: a hit hands out a reference, never a copy made while
  // the cache's lock is held (a search page is kilobytes, and every I/O thread reads).
  using Body = std::shared_ptr<const std::string>;
  struct Lookup {
    Body value;             // set on a hit
    std::string version;    // pass back to put() after a miss
    bool available = true;  // false: the cache is down, go to the database
  };

  virtual ~Cache() = default;
  virtual Lookup get(const std::string& group, const std::string& key) = 0;
  virtual void put(const std::string& group, const std::string& version, const std::string& key,
                   Body value, int ttl_seconds) = 0;
  void put(const std::string& group, const std::string& version, const std::string& key,
           const std::string& value, int ttl_seconds) {
    put(group, version, key, std::make_shared<const std::string>(value), ttl_seconds);
  }
  // Makes every entry of `group` unreachable (call after the write committed).
  virtual void invalidate(const std::string& group) = 0;
  struct Stats {
    std::size_t entries = 0;
    std::size_t bytes = 0;  // keys + values + per-entry bookkeeping (in-process caches only)
  };
  [[nodiscard]] virtual Stats stats() const = 0;
  // True when get() never blocks on I/O (safe on an HTTP I/O thread).
  [[nodiscard]] virtual bool in_process() const = 0;
  [[nodiscard]] virtual const char* kind() const = 0;
};

// LRU with TTL, bounded both in entries and in bytes (what RSS actually follows: a few large
// search bodies weigh more than thousands of small ones). An entry larger than the whole byte
// budget is not stored.
std::unique_ptr<Cache> make_memory_cache(std::size_t max_entries, std::size_t max_bytes);
// Shared through Redis; when Redis is unreachable lookups report unavailable (no caching), so no
// replica ever serves something another replica's write invalidated.
std::unique_ptr<Cache> make_redis_cache(std::shared_ptr<redis::Client> client);

}  // namespace cj

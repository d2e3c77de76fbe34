// The flight catalogue's response cache: serialised search/featured/airports bodies keyed by
// (route, date), with request coalescing and invalidation hooks for the services that write
// (booking, admin). Writers call the invalidate_* functions after their transaction commits.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/cache.hpp"
#include "core/result.hpp"

namespace cj::flight {

class CatalogCache {
 public:
  CatalogCache(std::unique_ptr<Cache> cache, int ttl_seconds);

  // An in-process hit, or nullopt (never blocks; always nullopt for Redis).
  std::optional<std::string> peek(const std::string& group, const std::string& key);
  // The cached body, or load() once for all concurrent callers of the same key and version.
  Result<std::string> get_or_load(const std::string& group, const std::string& key,
                                  const std::function<Result<std::string>()>& load);

  // A write changed something on this route and date (seats, price, status, discount, flight).
  void invalidate_search(const std::string& departure, const std::string& arrival,
                         const std::string& date);
  // A write changed what featured/promotions may list (any discount or schedule change).
  void invalidate_featured();
  // A booking or cancel changed the occupied seats of a schedule.
  void invalidate_seats(long long schedule_id);
  static std::string seats_group(long long schedule_id);

  static std::string search_group(const std::string& departure, const std::string& arrival,
                                  const std::string& date);
  static constexpr const char* kFeaturedGroup = "featured";
  static constexpr const char* kAirportsGroup = "airports";

  [[nodiscard]] const Cache& backend() const { return *cache_; }

 private:
  std::unique_ptr<Cache> cache_;
  int ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_future<Result<std::string>>> inflight_;
};

}  // namespace cj::flight

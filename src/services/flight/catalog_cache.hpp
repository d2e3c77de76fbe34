// The flight catalogue's response cache: serialised search/featured/airports bodies keyed by
// (route, date), with request coalescing and invalidation hooks for the services that write
// (booking, admin). Writers call the invalidate_* functions after their transaction commits.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/cache.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"

namespace cj::flight {

class CatalogCache {
 public:
  CatalogCache(std::unique_ptr<Cache> cache, int ttl_seconds);

  // An in-process hit (the shared stored body), or null (never blocks; always null for Redis).
  Cache::Body peek(const std::string& group, const std::string& key);
  // The cached body, or load() once for all concurrent callers of the same key and version.
  Result<std::string> get_or_load(const std::string& group, const std::string& key,
                                  const std::function<Result<std::string>()>& load);

  // A loaded body and the instant (service clock, Unix seconds) until which it stays right
  // without any write: for flight lists, when the first listed schedule leaves sale.
  struct Loaded {
    std::string body;
    std::optional<std::int64_t> fresh_until;
  };
  // Like get_or_load, storing the body for the configured TTL but never past `fresh_until`.
  //
  // Why bound the lifetime rather than filter at serve time: a hit is answered with the stored
  // bytes (on the I/O thread, no parsing), and time can only take rows *out* of a list (a schedule
  // never comes back on sale by itself; anything else that changes a list is a write, which
  // invalidates). So an entry that expires before its first row closes is exactly as right as a
  // fresh query, at the price of one reload per closing schedule.
  Result<std::string> get_or_load_until(const std::string& group, const std::string& key,
                                        const std::function<Result<Loaded>()>& load);

  // A write changed something on this route and date (seats, price, status, discount, flight).
  void invalidate_search(const std::string& departure, const std::string& arrival,
                         const std::string& date);
  // A write changed what featured/promotions may list (any discount or schedule change).
  void invalidate_featured();
  // The airports list (an admin added or corrected one).
  void invalidate_airports();
  // A booking or cancel changed the occupied seats of a schedule.
  void invalidate_seats(long long schedule_id);
  static std::string seats_group(long long schedule_id);

  static std::string search_group(const std::string& departure, const std::string& arrival,
                                  const std::string& date);
  static constexpr const char* kFeaturedGroup = "featured";
  static constexpr const char* kAirportsGroup = "airports";

  [[nodiscard]] const Cache& backend() const { return *cache_; }

 private:
  Result<Cache::Body> lookup_or_load(const std::string& group, const std::string& key,
                                     const std::function<Result<Loaded>()>& load);

  std::unique_ptr<Cache> cache_;
  int ttl_;
  std::shared_ptr<metrics::CacheMetrics> metrics_;  // resolved once for cache_->kind()
  std::mutex mu_;
  // Waiters share the loader's body (one allocation), not a copy each.
  std::unordered_map<std::string, std::shared_future<Result<Cache::Body>>> inflight_;
};

}  // namespace cj::flight

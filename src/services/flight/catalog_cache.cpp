#include "services/flight/catalog_cache.hpp"

#include "core/metrics.hpp"

namespace cj::flight {

CatalogCache::CatalogCache(std::unique_ptr<Cache> cache, int ttl_seconds)
    : cache_(std::move(cache)), ttl_(ttl_seconds) {}

std::string CatalogCache::search_group(const std::string& departure, const std::string& arrival,
                                       const std::string& date) {
  return "search:" + departure + ":" + arrival + ":" + date;
}

std::optional<std::string> CatalogCache::peek(const std::string& group, const std::string& key) {
  if (!cache_->in_process()) return std::nullopt;
  auto hit = cache_->get(group, key);
  if (hit.value) metrics::Registry::instance().count_cache(cache_->kind(), true);
  return std::move(hit.value);
}

Result<std::string> CatalogCache::get_or_load(const std::string& group, const std::string& key,
                                              const std::function<Result<std::string>()>& load) {
  auto lookup = cache_->get(group, key);
  metrics::Registry::instance().count_cache(cache_->kind(), lookup.value.has_value());
  if (lookup.value) return std::move(*lookup.value);
  if (!lookup.available) return load();  // cache down: the database answers, nothing is stored

  const std::string flight_key = group + '\x1f' + lookup.version + '\x1f' + key;
  std::promise<Result<std::string>> promise;
  {
    std::unique_lock lock(mu_);
    if (auto it = inflight_.find(flight_key); it != inflight_.end()) {
      auto shared = it->second;
      lock.unlock();
      return shared.get();
    }
    inflight_.emplace(flight_key, promise.get_future().share());
  }
  Result<std::string> loaded = load();
  if (loaded.ok()) cache_->put(group, lookup.version, key, *loaded, ttl_);
  promise.set_value(loaded);
  {
    std::lock_guard lock(mu_);
    inflight_.erase(flight_key);
  }
  return loaded;
}

void CatalogCache::invalidate_search(const std::string& departure, const std::string& arrival,
                                     const std::string& date) {
  cache_->invalidate(search_group(departure, arrival, date));
  invalidate_featured();
}

void CatalogCache::invalidate_featured() {
  cache_->invalidate(kFeaturedGroup);
}

std::string CatalogCache::seats_group(long long schedule_id) {
  return "seats:" + std::to_string(schedule_id);
}

void CatalogCache::invalidate_seats(long long schedule_id) {
  cache_->invalidate(seats_group(schedule_id));
}

}  // namespace cj::flight

#include "services/flight/catalog_cache.hpp"

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "services/flight/rules.hpp"

namespace cj::flight {

CatalogCache::CatalogCache(std::unique_ptr<Cache> cache, int ttl_seconds)
    : cache_(std::move(cache)),
      ttl_(ttl_seconds),
      metrics_(metrics::Registry::instance().cache_metrics(cache_->kind())) {}

std::string CatalogCache::search_group(const std::string& departure, const std::string& arrival,
                                       const std::string& date) {
  return "search:" + departure + ":" + arrival + ":" + date;
}

Cache::Body CatalogCache::peek(const std::string& group, const std::string& key) {
  if (!cache_->in_process()) return nullptr;
  auto hit = cache_->get(group, key);
  if (hit.value) metrics_->count(true);
  return std::move(hit.value);
}

Result<std::string> CatalogCache::get_or_load(const std::string& group, const std::string& key,
                                              const std::function<Result<std::string>()>& load) {
  return get_or_load_until(group, key, [&]() -> Result<Loaded> {
    auto body = load();
    if (!body) return body.error();
    return Loaded{std::move(*body), std::nullopt};
  });
}

Result<std::string> CatalogCache::get_or_load_until(const std::string& group,
                                                    const std::string& key,
                                                    const std::function<Result<Loaded>()>& load) {
  auto body = lookup_or_load(group, key, load);
  if (!body) return body.error();
  return std::string(**body);  // the response's own copy, made outside every lock
}

Result<Cache::Body> CatalogCache::lookup_or_load(const std::string& group, const std::string& key,
                                                 const std::function<Result<Loaded>()>& load) {
  auto lookup = cache_->get(group, key);
  metrics_->count(lookup.value != nullptr);
  if (lookup.value) return std::move(lookup.value);
  auto body_of = [](Result<Loaded> loaded) -> Result<Cache::Body> {
    if (!loaded) return loaded.error();
    return Cache::Body(std::make_shared<const std::string>(std::move(loaded->body)));
  };
  if (!lookup.available) return body_of(load());  // cache down: the database answers, no store

  const std::string flight_key = group + '\x1f' + lookup.version + '\x1f' + key;
  std::promise<Result<Cache::Body>> promise;
  {
    std::unique_lock lock(mu_);
    if (auto it = inflight_.find(flight_key); it != inflight_.end()) {
      auto shared = it->second;
      lock.unlock();
      return shared.get();
    }
    inflight_.emplace(flight_key, promise.get_future().share());
  }
  Result<Loaded> loaded = load();
  // The TTL is computed now, after the query, from the clock the rows were judged by.
  const int ttl = loaded.ok() ? bounded_ttl(ttl_, clock::now_unix(), loaded->fresh_until) : 0;
  Result<Cache::Body> body = body_of(std::move(loaded));
  if (body.ok() && ttl > 0) cache_->put(group, lookup.version, key, *body, ttl);
  promise.set_value(body);
  {
    std::lock_guard lock(mu_);
    inflight_.erase(flight_key);
  }
  return body;
}

void CatalogCache::invalidate_search(const std::string& departure, const std::string& arrival,
                                     const std::string& date) {
  cache_->invalidate(search_group(departure, arrival, date));
  invalidate_featured();
}

void CatalogCache::invalidate_featured() {
  cache_->invalidate(kFeaturedGroup);
}

void CatalogCache::invalidate_airports() {
  cache_->invalidate(kAirportsGroup);
}

std::string CatalogCache::seats_group(long long schedule_id) {
  return "seats:" + std::to_string(schedule_id);
}

void CatalogCache::invalidate_seats(long long schedule_id) {
  cache_->invalidate(seats_group(schedule_id));
}

}  // namespace cj::flight

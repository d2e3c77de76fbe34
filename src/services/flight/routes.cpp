#include "services/flight/routes.hpp"

#include "core/clock.hpp"
#include "http/health.hpp"
#include "services/flight/catalog_cache.hpp"
#include "services/flight/store.hpp"

namespace cj::flight {
namespace {

using http::Request;
using http::Response;

constexpr int kFeaturedLimit = 6;

Response cached_body(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

std::string rows_body(const char* list_name, const std::vector<ScheduleRow>& rows,
                      nlohmann::json (*to_json)(const ScheduleRow&)) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : rows) list.push_back(to_json(r));
  return nlohmann::json{{list_name, std::move(list)}, {"total", rows.size()}}.dump();
}

class FlightRoutes {
 public:
  explicit FlightRoutes(const Deps& deps)
      : cache_(deps.catalog),
        reference_(deps.reference),
        store_(deps.db),
        cutoff_seconds_(deps.config.sales_cutoff_minutes * 60) {}

  // Search: the cache key is the validated, normalised query, so `icn` and `ICN` share an entry.
  std::optional<Response> search_fast(const Request& rq) {
    auto q = query(rq);
    if (!q) return std::nullopt;  // the worker answers the error
    auto hit = cache_.peek(CatalogCache::search_group(q->departure, q->arrival, q->date), "");
    if (!hit) return std::nullopt;
    return cached_body(std::move(*hit));
  }

  Response search(const Request& rq) {
    auto q = query(rq);
    if (!q) return http::error_response(rq, q.error());
    auto body = cache_.get_or_load_until(
        CatalogCache::search_group(q->departure, q->arrival, q->date), "",
        [&]() -> Result<CatalogCache::Loaded> {
          auto found = store_.search(*q, clock::now_unix(), cutoff_seconds_);
          if (!found) return found.error();
          sort_for_search(found->rows);
          return CatalogCache::Loaded{rows_body("flights", found->rows, search_row_json),
                                      found->closes_at};
        });
    if (!body) return http::error_response(rq, body.error());
    return cached_body(std::move(*body));
  }

  std::optional<Response> airports_fast(const Request&) {
    auto hit = reference_.peek(CatalogCache::kAirportsGroup, "all");
    if (!hit) return std::nullopt;
    return cached_body(std::move(*hit));
  }

  Response airports(const Request& rq) {
    auto body =
        reference_.get_or_load(CatalogCache::kAirportsGroup, "all", [&]() -> Result<std::string> {
          auto list = store_.airports();
          if (!list) return list.error();
          nlohmann::json arr = nlohmann::json::array();
          for (const auto& a : *list) arr.push_back(airport_json(a));
          return nlohmann::json{{"airports", std::move(arr)}}.dump();
        });
    if (!body) return http::error_response(rq, body.error());
    return cached_body(std::move(*body));
  }

  // Featured and promotions list the same selection in two shapes. No date in the key: the
  // entry's lifetime is bounded by the first of its schedules to leave sale (get_or_load_until),
  // which is also what moves the selection as time passes.
  std::optional<Response> discounted_fast(const char* shape) {
    auto hit = cache_.peek(CatalogCache::kFeaturedGroup, shape);
    if (!hit) return std::nullopt;
    return cached_body(std::move(*hit));
  }

  Response discounted(const Request& rq, bool promotions) {
    const char* shape = promotions ? "promotions" : "featured";
    auto body = cache_.get_or_load_until(
        CatalogCache::kFeaturedGroup, shape, [&]() -> Result<CatalogCache::Loaded> {
          auto found = store_.discounted(clock::now_unix(), cutoff_seconds_, kFeaturedLimit);
          if (!found) return found.error();
          return CatalogCache::Loaded{promotions
                                          ? rows_body("promotions", found->rows, promotion_row_json)
                                          : rows_body("flights", found->rows, featured_row_json),
                                      found->closes_at};
        });
    if (!body) return http::error_response(rq, body.error());
    return cached_body(std::move(*body));
  }

 private:
  static Result<SearchQuery> query(const Request& rq) {
    return parse_search(rq.query_param("departure"), rq.query_param("arrival"),
                        rq.query_param("date"));
  }

  CatalogCache& cache_;
  CatalogCache& reference_;  // airports: no endpoint writes them, so never shared via Redis
  FlightStore store_;
  int cutoff_seconds_;
};

}  // namespace

http::Service make_service(const Deps& deps) {
  auto r = std::make_shared<FlightRoutes>(deps);
  const std::string prefix = "/api/flights";
  http::Service s{"flight", deps.config.ports.flight, {}};
  s.routes.push_back({"GET", prefix + "/search", [r](const Request& rq) { return r->search(rq); },
                      true, [r](const Request& rq) { return r->search_fast(rq); }});
  s.routes.push_back({"GET", prefix + "/airports",
                      [r](const Request& rq) { return r->airports(rq); }, true,
                      [r](const Request& rq) { return r->airports_fast(rq); }});
  s.routes.push_back({"GET", prefix + "/featured",
                      [r](const Request& rq) { return r->discounted(rq, false); }, true,
                      [r](const Request&) { return r->discounted_fast("featured"); }});
  s.routes.push_back({"GET", prefix + "/promotions",
                      [r](const Request& rq) { return r->discounted(rq, true); }, true,
                      [r](const Request&) { return r->discounted_fast("promotions"); }});
  s.routes.push_back(http::health_route(prefix, "flight", deps.config.ports.flight));
  return s;
}

}  // namespace cj::flight

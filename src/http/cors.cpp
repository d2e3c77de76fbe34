#include "http/cors.hpp"

#include <algorithm>

namespace cj::http {

Headers cors_headers(const Config& config, const Request& rq) {
  const auto& allowed = config.cors_origins;
  if (allowed.empty()) return {};
  const auto origin = rq.header("origin");
  if (!origin) return {};
  const bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
  if (!any && std::find(allowed.begin(), allowed.end(), *origin) == allowed.end()) return {};
  return {{"Access-Control-Allow-Origin", any ? "*" : *origin},
          {"Vary", "Origin"},
          {"Access-Control-Expose-Headers", "X-Request-Id, Retry-After"}};
}

Headers preflight_headers(const Config& config, const Request& rq, const std::string& allow) {
  if (config.cors_origins.empty() || !rq.header("origin")) return {};
  return {{"Access-Control-Allow-Methods", allow},
          {"Access-Control-Allow-Headers",
           "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Accept-Language"},
          {"Access-Control-Max-Age", "600"}};
}

}  // namespace cj::http

#include "app/gateway_aliases.hpp"

#include <array>
#include <string_view>

namespace cj {
namespace {

struct Alias {
  std::string_view from;
  std::string_view to;
};
constexpr std::array<Alias, 2> kAliases{{
    {"/api/health", "/api/auth/health"},
    {"/api/airports", "/api/flights/airports"},
}};

}  // namespace

http::Service gateway_aliases(const std::vector<const http::Service*>& selected) {
  http::Service out;
  out.name = "gateway";
  for (const auto& alias : kAliases) {
    for (const auto* service : selected) {
      for (const auto& route : service->routes) {
        if (route.method != "GET" || route.path != alias.to) continue;
        http::Route copy = route;  // same handler, fast path and pool: only the path differs
        copy.path = std::string(alias.from);
        out.routes.push_back(std::move(copy));
      }
    }
  }
  return out;
}

}  // namespace cj

#include "services/admin/routes.hpp"

#include "http/health.hpp"

namespace cj::admin {

http::Service make_service(App& app) {
  const int port = app.config.ports.admin;
  http::Service s{"admin", port, {}};
  s.routes.push_back(http::health_route("/api/admin", "admin", port));
  return s;
}

}  // namespace cj::admin

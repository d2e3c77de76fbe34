#include "services/flight/routes.hpp"

#include "http/health.hpp"

namespace cj::flight {

http::Service make_service(App& app) {
  const int port = app.config.ports.flight;
  http::Service s{"flight", port, {}};
  s.routes.push_back(http::health_route("/api/flights", "flight", port));
  return s;
}

}  // namespace cj::flight

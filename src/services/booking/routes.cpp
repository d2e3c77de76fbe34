#include "services/booking/routes.hpp"

#include "http/health.hpp"

namespace cj::booking {

http::Service make_service(App& app) {
  const int port = app.config.ports.booking;
  http::Service s{"booking", port, {}};
  s.routes.push_back(http::health_route("/api/bookings", "booking", port));
  return s;
}

}  // namespace cj::booking

#include "services/payment/routes.hpp"

#include "http/health.hpp"

namespace cj::payment {

http::Service make_service(App& app) {
  const int port = app.config.ports.payment;
  http::Service s{"payment", port, {}};
  s.routes.push_back(http::health_route("/api/payments", "payment", port));
  return s;
}

}  // namespace cj::payment

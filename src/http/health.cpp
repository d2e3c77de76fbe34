#include "http/health.hpp"

namespace cj::http {

Route health_route(const std::string& prefix, const std::string& service_name, int port) {
  const std::string body = nlohmann::json{
      {"status", "healthy"},
      {"service", service_name + "-service"},
      {"port", port}}.dump();
  return Route{"GET", prefix + "/health",
               [body](const Request&) {
                 Response r;
                 r.body = body;
                 return r;
               },
               false};
}

}  // namespace cj::http

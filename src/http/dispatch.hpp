// From a parsed RESTinio request to a written answer (internal to src/http): checks that apply
// before routing (header size, path encoding), the route table of one listener (method routes,
// HEAD for every GET, OPTIONS/405 per path, 404), running each handler on the I/O thread or its
// worker pool, and writing the response (CORS, request id, HEAD without a body).
#pragma once

#include <array>
#include <atomic>
#include <memory>

#include "core/config.hpp"
#include "core/work_pool.hpp"
#include "http/readiness.hpp"
#include "http/server.hpp"
#include "http/transport.hpp"

namespace cj::http {

// What every handler invocation needs, shared by all listeners of a serve() call.
struct Context {
  const Config& config;
  asio::io_context& io;
  std::array<WorkPool*, 3> pools;  // indexed by Pool
  ReadinessMonitor& readiness;
  std::atomic<int> in_flight{0};

  WorkPool& pool(Pool p) const { return *pools[static_cast<std::size_t>(p)]; }
};

class Dispatcher;

// The request handler RESTinio calls for each listener: the checks that need no route, then the
// listener's router. An exception RESTinio's router throws (it does for a path whose
// percent-escapes are not valid UTF-8) becomes a 400 here instead of a dropped connection.
class FrontHandler {
 public:
  FrontHandler(Context& ctx, std::unique_ptr<Router> router, std::shared_ptr<Dispatcher> keep);
  restinio::request_handling_status_t operator()(const restinio::request_handle_t& req) const;

 private:
  Context& ctx_;
  std::unique_ptr<Router> router_;
  std::shared_ptr<Dispatcher> dispatcher_;  // the routes' target; lives as long as the router
};

std::unique_ptr<FrontHandler> build_handler(Context& ctx, const Listener& listener);

}  // namespace cj::http

// The HTTP front of every service: RESTinio listeners on one shared asio pool, the bounded worker
// pools handlers run on, and graceful shutdown. The parts: dispatch.* (routing, HEAD, limits,
// which pool runs what, writing answers), transport.* (RESTinio traits: framing-error answers,
// per-client connection cap), client_address.* (X-Forwarded-For), query.*, cors.*,
// access_log.*, readiness.* (GET /ready).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/result.hpp"
#include "http/types.hpp"

namespace cj::http {

// One TCP port and the services answering on it.
struct Listener {
  int port = 0;
  std::vector<const Service*> services;
};

struct ServerHooks {
  // GET /ready: true when the database answers. Called on a thread of its own, may block.
  std::function<bool()> ready;
};

// Opens every listener, serves until SIGINT/SIGTERM, then stops accepting, lets in-flight requests
// finish (up to 10 s) and returns. `on_listening` runs once all ports are bound.
// Callers must have blocked SIGINT/SIGTERM in all threads (block_shutdown_signals) first.
Status serve(const Config& config, const std::vector<Listener>& listeners, const ServerHooks& hooks,
             const std::function<void()>& on_listening);

// Blocks SIGINT/SIGTERM in the calling thread (and the threads it creates later) so that serve()
// can wait for them synchronously.
void block_shutdown_signals();

}  // namespace cj::http

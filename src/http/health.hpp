// GET /api/<svc>/health, the liveness probe every service answers (no database involved).
#pragma once

#include <string>

#include "http/types.hpp"

namespace cj::http {

// {"status":"healthy","service":"<name>-service","port":<port>}, answered on the I/O thread.
Route health_route(const std::string& prefix, const std::string& service_name, int port);

}  // namespace cj::http

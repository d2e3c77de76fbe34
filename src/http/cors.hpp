// CORS: which response headers an allowed Origin gets (CORS_ORIGINS), on answers and preflights.
#pragma once

#include <string>

#include "core/config.hpp"
#include "http/types.hpp"

namespace cj::http {

// Empty when CORS is off, the request has no Origin, or the origin is not allowed.
Headers cors_headers(const Config& config, const Request& rq);

// The extra headers of a preflight (OPTIONS) answer for a path allowing `allow`.
Headers preflight_headers(const Config& config, const Request& rq, const std::string& allow);

}  // namespace cj::http

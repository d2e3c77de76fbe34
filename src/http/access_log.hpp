// One JSON line per answered request (ACCESS_LOG), with the client as resolved from
// X-Forwarded-For when the peer is a trusted proxy.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/config.hpp"
#include "http/types.hpp"

namespace cj::http {

// `service` and `route` are empty for answers no route produced (404, 400 before routing).
void log_request(const Config& config, std::string_view service, std::string_view route,
                 const Request& rq, int status, double seconds, std::size_t bytes);

}  // namespace cj::http

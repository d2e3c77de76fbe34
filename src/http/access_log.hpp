// One JSON line per answered request (ACCESS_LOG), with the client as resolved from
// X-Forwarded-For when the peer is a trusted proxy.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "http/types.hpp"

namespace cj::http {

// `service` and `route` are empty for answers no route produced (404, 400 before routing).
void log_request(const Config& config, std::string_view service, std::string_view route,
                 const Request& rq, int status, double seconds, std::size_t bytes);

// The line's fields (the inside of a JSON object, no time/level/msg), appended to `out`:
// request_id, trace_id and span_id (when set), service, method, path, route, status,
// duration_ms, bytes, client. Written by hand rather than through nlohmann::json, which cost
// ~40 % of the health route's throughput; exposed for the unit test and the micro-benchmarks.
void append_access_fields(std::string& out, std::string_view service, std::string_view route,
                          const Request& rq, int status, double seconds, std::size_t bytes);

}  // namespace cj::http

#include "http/access_log.hpp"

#include "core/log.hpp"

namespace cj::http {

void log_request(const Config& config, std::string_view service, std::string_view route,
                 const Request& rq, int status, double seconds, std::size_t bytes) {
  if (!config.access_log) return;
  log::info("request", {{"request_id", rq.request_id},
                        {"service", service},
                        {"method", rq.method},
                        {"path", rq.path},
                        {"route", route},
                        {"status", status},
                        {"duration_ms", seconds * 1000.0},
                        {"bytes", bytes},
                        {"client", rq.client_ip},
                        {"trace_id", rq.trace_id},
                        {"span_id", rq.span_id}});
}

}  // namespace cj::http

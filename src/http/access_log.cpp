#include "http/access_log.hpp"

#include "core/json_text.hpp"
#include "core/log.hpp"

namespace cj::http {

void append_access_fields(std::string& out, std::string_view service, std::string_view route,
                          const Request& rq, int status, double seconds, std::size_t bytes) {
  using json_text::append_key;
  using json_text::append_string;
  append_key(out, "request_id");
  append_string(out, rq.request_id);
  // Only when tracing produced them, so an untraced line stays as it was.
  if (!rq.trace_id.empty()) {
    out += ',';
    append_key(out, "trace_id");
    append_string(out, rq.trace_id);
  }
  if (!rq.span_id.empty()) {
    out += ',';
    append_key(out, "span_id");
    append_string(out, rq.span_id);
  }
  out += ',';
  append_key(out, "service");
  append_string(out, service);
  out += ',';
  append_key(out, "method");
  append_string(out, rq.method);
  out += ',';
  append_key(out, "path");
  append_string(out, rq.path);
  out += ',';
  append_key(out, "route");
  append_string(out, route);
  out += ',';
  append_key(out, "status");
  json_text::append_int(out, status);
  out += ',';
  append_key(out, "duration_ms");
  // Microsecond resolution, and always written with a point (a float for every reader).
  json_text::append_fixed(out, seconds * 1000.0, 3);
  out += ',';
  append_key(out, "bytes");
  json_text::append_uint(out, bytes);
  out += ',';
  append_key(out, "client");
  append_string(out, rq.client_ip);
}

void log_request(const Config& config, std::string_view service, std::string_view route,
                 const Request& rq, int status, double seconds, std::size_t bytes) {
  if (!config.access_log || !log::enabled(log::Level::Info)) return;
  // Reused per thread: a request's line costs no allocation once the buffer has grown.
  thread_local std::string fields;
  fields.clear();
  append_access_fields(fields, service, route, rq, status, seconds, bytes);
  log::write_fields(log::Level::Info, "request", fields);
}

}  // namespace cj::http

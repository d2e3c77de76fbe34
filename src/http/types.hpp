// The HTTP vocabulary the services see: plain request/response structs and route tables. RESTinio
// stays inside server.cpp, so services compile fast and can be tested without sockets.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace cj::http {

using Headers = std::vector<std::pair<std::string, std::string>>;  // names lower-cased

struct Request {
  std::string method;  // "GET"
  std::string path;    // without the query string
  std::string route;   // the matched route template, e.g. /api/bookings/:id/cancel
  Headers params;      // route parameters
  Headers query;       // decoded query parameters
  Headers headers;
  std::string body;
  std::string request_id;
  std::string client_ip;
  // W3C trace context of this request's server span (32 / 16 lower-case hex digits); empty when
  // tracing is off. Log lines written for the request carry them.
  std::string trace_id;
  std::string span_id;

  [[nodiscard]] std::optional<std::string> header(std::string_view lower_name) const;
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
  [[nodiscard]] std::string param(std::string_view name) const;
  // True when Accept-Language prefers English over Korean.
  [[nodiscard]] bool prefers_english() const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  Headers headers;
};

using Handler = std::function<Response(const Request&)>;

// The bounded worker pool a blocking handler runs on (core/work_pool.hpp). Password hashing and
// calls to the payment gateway have pools of their own, so a flood of either cannot take the
// threads database work needs.
enum class Pool { Database, Cpu, Gateway };

struct Route {
  std::string method;  // GET POST PUT DELETE
  std::string path;    // express syntax: /api/bookings/:booking_number/cancel
  Handler handler;
  // Handlers that may block (database, password hashing, outbound HTTP) run on the worker pool;
  // a few cheap ones (health, cached reads) answer on the I/O thread.
  bool blocking = true;
  // Optional fast path tried on the I/O thread before a blocking handler is queued (e.g. an
  // in-process cache hit); nullopt means "go to the worker pool".
  std::function<std::optional<Response>(const Request&)> fast;
  Pool pool = Pool::Database;
};

struct Service {
  std::string name;  // "auth" ...
  int port = 0;      // the service's own port (also what its health endpoint reports)
  std::vector<Route> routes;
};

// ---- building responses -------------------------------------------------------------------
Response json_response(int status, const nlohmann::json& body);
// {"message": ..., "error": ...} in the caller's language.
Response error_response(const Request& rq, const Error& error);

// ---- request parsing ----------------------------------------------------------------------
// application/x-www-form-urlencoded → decoded pairs; nullopt when malformed.
std::optional<Headers> parse_form(std::string_view body);

// The body as a JSON object, or a 400 (json_input::parse_object: depth-limited, exactly one
// value, valid UTF-8). Every JSON request body goes through here.
Result<nlohmann::json> parse_json_object(const Request& rq);

}  // namespace cj::http

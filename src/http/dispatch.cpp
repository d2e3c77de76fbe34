#include "http/dispatch.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/trace.hpp"
#include "http/access_log.hpp"
#include "http/api_docs.hpp"
#include "http/client_address.hpp"
#include "http/cors.hpp"
#include "http/query.hpp"

namespace cj::http {
namespace {

using Clock = std::chrono::steady_clock;

// Header names arrive as raw bytes; std::tolower on a byte >= 0x80 (a negative char) is
// undefined, and no header name we look up has non-ASCII letters anyway.
std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Route parameter names of an express template ("/a/:id/b" -> {"id"}).
std::vector<std::string> param_names(const std::string& path) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == ':') {
      std::size_t j = i + 1;
      while (j < path.size() && (ascii_alnum(path[j]) || path[j] == '_')) ++j;
      out.push_back(path.substr(i + 1, j - i - 1));
      i = j;
    }
  }
  return out;
}

// Request ids: a random per-process prefix plus a counter is unique enough and costs nothing.
std::string next_request_id() {
  static const std::string prefix = [] {
    std::random_device rd;
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    return std::string(buf);
  }();
  static std::atomic<std::uint64_t> counter{0};
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%012llx",
                static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
  return prefix + buf;
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return ascii_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// The incoming W3C trace context (traceparent, and tracestate with it); nullopt when absent or
// malformed, and the request then starts a trace of its own.
std::optional<trace::SpanContext> incoming_context(const Request& rq) {
  auto tp = rq.header("traceparent");
  if (!tp) return std::nullopt;
  auto ctx = trace::parse_traceparent(*tp);
  if (!ctx) return std::nullopt;
  if (auto ts = rq.header("tracestate")) ctx->tracestate = trace::bounded_tracestate(*ts);
  return ctx;
}

// Method, path, headers, request id and client: what every answer needs, matched route or not.
// `trace_ids`: fill trace_id/span_id for an answer that gets no span (a routed request takes its
// server span's instead).
Request basic_request(const Context& ctx, const restinio::request_t& req, bool trace_ids = true) {
  Request rq;
  const auto& h = req.header();
  rq.method = h.method().c_str();
  rq.path = std::string(h.path());
  std::vector<std::string> forwarded_for;
  h.for_each_field([&](const restinio::http_header_field_t& f) {
    rq.headers.emplace_back(ascii_lower(f.name()), f.value());
    if (rq.headers.back().first == "x-forwarded-for") forwarded_for.push_back(f.value());
  });
  auto id = rq.header("x-request-id");
  rq.request_id = (id && valid_request_id(*id)) ? *id : next_request_id();
  std::string peer = "unknown";
  try {
    peer = req.remote_endpoint().address().to_string();
  } catch (const std::exception&) {
    // keep "unknown"
  }
  rq.client_ip = resolve_client(peer, forwarded_for, ctx.config.trusted_proxies);
  if (!trace_ids) return rq;
  // Answers without a route (404, 405, OPTIONS, refusals) record no span, but their log lines
  // still name the caller's trace (or a new one).
  const auto parent = incoming_context(rq);
  rq.trace_id = parent ? parent->trace_id : trace::new_trace_id();
  rq.span_id = trace::new_span_id();
  return rq;
}

template <typename Builder>
void add_headers(Builder& out, const Response& res, const std::string& request_id,
                 const Headers& extra) {
  out.append_header(restinio::http_field::content_type, res.content_type);
  out.append_header("X-Request-Id", request_id);
  for (const auto& [k, v] : extra) out.append_header(k, v);
  for (const auto& [k, v] : res.headers) out.append_header(k, v);
}

void write_response(restinio::request_t& req, Response& res, const std::string& request_id,
                    const Headers& extra) {
  const auto written = [id = req.connection_id()](const asio::error_code&) {
    outstanding::response_written(id);
  };
  const restinio::http_status_line_t status{
      restinio::http_status_code_t{static_cast<std::uint16_t>(res.status)},
      reason_phrase(res.status)};
  if (req.header().method() == restinio::http_method_head()) {
    // The headers a GET would get, Content-Length included, and no body: a HEAD answer that
    // carried one would be read as the start of the next response on the connection.
    auto out = req.create_response<restinio::user_controlled_output_t>(status);
    add_headers(out, res, request_id, extra);
    out.set_content_length(res.body.size());
    out.done(written);
    return;
  }
  auto out = req.create_response(status);
  add_headers(out, res, request_id, extra);
  out.set_body(std::move(res.body));
  out.done(written);
}

// Writes `res` for `req`. Always later on an I/O thread, never from inside RESTinio's call of
// the request handler: RESTinio 0.6.16 starts reading the next pipelined request twice when a
// response completes during that call (and then closes the connection), so an answer ready at
// once still goes through the io_context.
void send(Context& ctx, const restinio::request_handle_t& req, const Request& rq, Response res) {
  Headers extra = cors_headers(ctx.config, rq);
  asio::post(ctx.io,
             [req, res = std::move(res), id = rq.request_id, extra = std::move(extra)]() mutable {
               try {
                 write_response(*req, res, id, extra);
               } catch (const std::exception& e) {
                 log::warn("cannot write a response", {{"request_id", id}, {"error", e.what()}});
               }
             });
}

// An answer produced before any route (or by the OPTIONS/405/404 handlers).
restinio::request_handling_status_t answer_unrouted(Context& ctx,
                                                    const restinio::request_handle_t& req,
                                                    const Request& rq, Response res,
                                                    Clock::time_point start) {
  const int status = res.status;
  const std::size_t bytes = res.body.size();
  send(ctx, req, rq, std::move(res));
  log_request(ctx.config, "", "", rq, status,
              std::chrono::duration<double>(Clock::now() - start).count(), bytes);
  return restinio::request_accepted();
}

Response overloaded_response(const Context& ctx, const Request& rq) {
  Response r = error_response(rq, errors::overloaded());
  // The configured wait replaces error_response's default one for 503s.
  std::erase_if(r.headers, [](const auto& h) { return h.first == "Retry-After"; });
  r.headers.emplace_back("Retry-After", std::to_string(ctx.config.pools.retry_after_seconds));
  return r;
}

// A path RESTinio's router can take: its percent-escapes well-formed and decoding to valid UTF-8.
bool valid_path(std::string_view path) {
  try {
    (void)restinio::utils::uri_normalization::unreserved_chars::estimate_required_capacity(path);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// The SERVER span of a routed request: `<METHOD> <route template>`, continuing the caller's
// trace when it sent a valid traceparent. Its ids become the request's (logs, access log).
std::shared_ptr<trace::Span> start_server_span(Request& rq, const std::string& service) {
  auto parent = incoming_context(rq);
  if (rq.route == "/metrics" || rq.route == "/ready") {
    // Scrapes and probes come every few seconds from every Prometheus and kubelet: recorded,
    // they would bury the traces of real requests. Unsampled, they still get ids for the logs.
    parent = trace::SpanContext{trace::new_trace_id(), trace::new_span_id(), false, ""};
  }
  auto span = std::make_shared<trace::Span>(rq.method + " " + rq.route, trace::SpanKind::Server,
                                            parent ? &*parent : nullptr, service);
  if (span->recording()) {
    span->set("http.request.method", rq.method);
    span->set("http.route", rq.route);
  }
  rq.trace_id = span->context().trace_id;
  rq.span_id = span->context().span_id;
  return span;
}

}  // namespace

// One registered route on one listener.
struct Entry {
  std::string service;
  std::string method;
  std::string path;
  std::vector<std::string> params;
  Handler handler;
  bool blocking = true;
  std::function<std::optional<Response>(const Request&)> fast;
  Pool pool = Pool::Database;
  // Answers later, by calling its second argument once (GET /ready); takes precedence.
  std::function<void(const Request&, std::function<void(Response)>)> async;
  std::shared_ptr<metrics::RouteMetrics> metrics;
};

class Dispatcher {
 public:
  explicit Dispatcher(Context& ctx) : ctx_(ctx) {}

  restinio::request_handling_status_t operator()(const std::shared_ptr<Entry>& entry,
                                                 const restinio::request_handle_t& req,
                                                 const restinio::router::route_params_t& params) {
    const auto start = Clock::now();
    ctx_.in_flight.fetch_add(1, std::memory_order_relaxed);
    metrics::Registry::instance().in_flight(1);
    bool bad_query = false;
    auto rq = std::make_shared<Request>(make_request(*entry, *req, params, bad_query));
    auto span = start_server_span(*rq, entry->service);

    if (rq->body.size() > ctx_.config.max_body_bytes) {
      finish(entry, req, rq, span, error_response(*rq, errors::payload_too_large()), start);
      return restinio::request_accepted();
    }
    if (bad_query) {
      finish(entry, req, rq, span,
             error_response(*rq, errors::invalid_field("query", "잘못된 쿼리 문자열입니다.",
                                                       "malformed query string")),
             start);
      return restinio::request_accepted();
    }
    if (entry->async) {
      entry->async(*rq, [this, entry, req, rq, span, start](Response res) {
        finish(entry, req, rq, span, std::move(res), start);
      });
      return restinio::request_accepted();
    }
    if (!entry->blocking) {
      const trace::Scope scope(span->context(), span->service());
      finish(entry, req, rq, span, invoke(*entry, *rq), start);
      return restinio::request_accepted();
    }
    if (entry->fast) {
      const trace::Scope scope(span->context(), span->service());
      if (auto res = try_fast(*entry, *rq)) {
        finish(entry, req, rq, span, std::move(*res), start);
        return restinio::request_accepted();
      }
    }
    // Work not started within the queue timeout is not worth doing: the client has likely given
    // up, and doing it anyway only delays everyone queued behind it.
    const auto deadline = start + std::chrono::milliseconds(ctx_.config.pools.queue_timeout_ms);
    auto& pool = ctx_.pool(entry->pool);
    // The handler's spans (database, Redis, gateway) and log lines belong to this request: its
    // span is made current on the pool thread that runs it.
    const auto admitted = pool.submit(
        [this, entry, req, rq, span, start] {
          const trace::Scope scope(span->context(), span->service());
          finish(entry, req, rq, span, invoke(*entry, *rq), start);
        },
        [this, entry, req, rq, span, start] {
          const trace::Scope scope(span->context(), span->service());
          log::warn("request dropped: not started before its deadline",
                    {{"request_id", rq->request_id},
                     {"route", entry->path},
                     {"pool", ctx_.pool(entry->pool).options().name}});
          finish(entry, req, rq, span, overloaded_response(ctx_, *rq), start);
        },
        deadline);
    if (admitted != WorkPool::Admission::Queued) {
      finish(entry, req, rq, span, overloaded_response(ctx_, *rq), start);
    }
    return restinio::request_accepted();
  }

 private:
  Request make_request(const Entry& entry, const restinio::request_t& req,
                       const restinio::router::route_params_t& params, bool& bad_query) const {
    Request rq = basic_request(ctx_, req, /*trace_ids=*/false);
    rq.route = entry.path;
    for (const auto& name : entry.params) {
      if (auto v = params.get_param(name)) rq.params.emplace_back(name, std::string(*v));
    }
    const auto q = req.header().query();
    if (!q.empty()) {
      if (auto parsed = parse_query(q)) {
        rq.query = std::move(*parsed);
      } else {
        bad_query = true;
      }
    }
    rq.body = req.body();
    return rq;
  }

  static std::optional<Response> try_fast(const Entry& entry, const Request& rq) {
    try {
      return entry.fast(rq);
    } catch (const std::exception& e) {
      log::error("unhandled exception in fast path",
                 {{"request_id", rq.request_id}, {"route", entry.path}, {"error", e.what()}});
      return std::nullopt;
    }
  }

  static Response invoke(const Entry& entry, const Request& rq) {
    try {
      return entry.handler(rq);
    } catch (const std::exception& e) {
      log::error("unhandled exception in handler",
                 {{"request_id", rq.request_id}, {"route", entry.path}, {"error", e.what()}});
      return error_response(rq, errors::internal());
    }
  }

  void finish(const std::shared_ptr<Entry>& entry, const restinio::request_handle_t& req,
              const std::shared_ptr<Request>& rq, const std::shared_ptr<trace::Span>& span,
              Response res, Clock::time_point start) {
    const int status = res.status;
    span->set("http.response.status_code", static_cast<std::int64_t>(status));
    if (status >= 500) {
      span->set("error.type", std::to_string(status));
      span->set_error("HTTP " + std::to_string(status));
    }
    span->end();
    const std::size_t bytes = res.body.size();
    send(ctx_, req, *rq, std::move(res));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (entry->metrics) entry->metrics->observe(status, seconds);
    // Logged before the request stops counting as in flight: shutdown waits for in_flight == 0
    // and then drains the log, so this line is always queued before the drain.
    log_request(ctx_.config, entry->service, entry->path, *rq, status, seconds, bytes);
    ctx_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    metrics::Registry::instance().in_flight(-1);
  }

  Context& ctx_;
};

FrontHandler::FrontHandler(Context& ctx, std::unique_ptr<Router> router,
                           std::shared_ptr<Dispatcher> keep)
    : ctx_(ctx), router_(std::move(router)), dispatcher_(std::move(keep)) {}

restinio::request_handling_status_t FrontHandler::operator()(
    const restinio::request_handle_t& req) const {
  const auto start = Clock::now();
  outstanding::request_started(req->connection_id());
  std::size_t header_bytes = 0;
  req->header().for_each_field([&header_bytes](const restinio::http_header_field_t& f) {
    header_bytes += f.name().size() + f.value().size();
  });
  if (header_bytes > ctx_.config.max_header_bytes) {
    const Request rq = basic_request(ctx_, *req);
    return answer_unrouted(ctx_, req, rq, error_response(rq, errors::headers_too_large()), start);
  }
  if (!valid_path(req->header().path())) {
    const Request rq = basic_request(ctx_, *req);
    return answer_unrouted(ctx_, req, rq, error_response(rq, errors::invalid_path()), start);
  }
  try {
    return (*router_)(req);
  } catch (const std::exception& e) {
    const Request rq = basic_request(ctx_, *req);
    log::warn("request refused by the router",
              {{"request_id", rq.request_id}, {"path", rq.path}, {"error", e.what()}});
    return answer_unrouted(ctx_, req, rq, error_response(rq, errors::invalid_path()), start);
  }
}

std::unique_ptr<FrontHandler> build_handler(Context& ctx, const Listener& l) {
  auto dispatcher = std::make_shared<Dispatcher>(ctx);
  auto router = std::make_unique<Router>();
  std::vector<std::shared_ptr<Entry>> entries;
  const std::string label = l.services.size() == 1 ? l.services.front()->name : "all";

  auto add = [&](const std::string& service, const Route& r) {
    auto e = std::make_shared<Entry>();
    e->service = service;
    e->method = r.method;
    e->path = r.path;
    e->params = param_names(r.path);
    e->handler = r.handler;
    e->blocking = r.blocking;
    e->fast = r.fast;
    e->pool = r.pool;
    e->metrics = metrics::Registry::instance().route(service, r.method, r.path);
    entries.push_back(e);
  };
  for (const Service* s : l.services) {
    for (const auto& r : s->routes) add(s->name, r);
  }
  // With METRICS_PORT only that port's listener serves /metrics (the service ports answer 404).
  const bool metrics_listener = ctx.config.metrics_port && l.port == *ctx.config.metrics_port;
  if (!ctx.config.metrics_port || metrics_listener) {
    add(label, Route{"GET", "/metrics",
                     [](const Request&) {
                       Response r;
                       r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                       r.body = metrics::Registry::instance().render();
                       return r;
                     },
                     false});
  }
  // The API description on every service listener (once, however many services it serves).
  if (!metrics_listener) add(label, api_docs_route());
  // Answered by the readiness monitor's own ping thread, never queued behind request work, so a
  // pod whose workers are all busy still tells its orchestrator that it is up.
  add(label, Route{"GET", "/ready", nullptr, false});
  entries.back()->async = [&ctx](const Request& rq, std::function<void(Response)> done) {
    ctx.readiness.check([rq, done = std::move(done)](bool ok) {
      done(ok ? json_response(200, {{"status", "ready"}})
              : error_response(rq, errors::unavailable()));
    });
  };

  // Method routes first (HEAD wherever GET), then per path: CORS preflight and 405 for every
  // other method.
  std::map<std::string, std::set<std::string>> methods_by_path;
  std::vector<std::string> path_order;
  Dispatcher* d = dispatcher.get();
  for (const auto& e : entries) {
    auto handler = [d, e](const restinio::request_handle_t& req,
                          restinio::router::route_params_t params) { return (*d)(e, req, params); };
    if (e->method == "GET") {
      router->add_handler(restinio::router::any_of_methods(restinio::http_method_get(),
                                                           restinio::http_method_head()),
                          e->path, handler);
    } else {
      restinio::http_method_id_t m = restinio::http_method_post();
      if (e->method == "PUT") m = restinio::http_method_put();
      if (e->method == "DELETE") m = restinio::http_method_delete();
      if (e->method == "PATCH") m = restinio::http_method_patch();
      router->add_handler(m, e->path, handler);
    }
    if (methods_by_path[e->path].empty()) path_order.push_back(e->path);
    methods_by_path[e->path].insert(e->method);
    if (e->method == "GET") methods_by_path[e->path].insert("HEAD");
  }
  for (const auto& path : path_order) {
    const auto& methods = methods_by_path[path];
    std::string allow;
    for (const auto& m : methods) allow += (allow.empty() ? "" : ", ") + m;
    allow += ", OPTIONS";
    router->add_handler(restinio::http_method_options(), path,
                        [&ctx, allow](const restinio::request_handle_t& req, auto) {
                          const auto start = Clock::now();
                          const Request rq = basic_request(ctx, *req);
                          Response res;
                          res.status = 204;
                          res.headers.emplace_back("Allow", allow);
                          for (auto& h : preflight_headers(ctx.config, rq, allow)) {
                            res.headers.push_back(std::move(h));
                          }
                          return answer_unrouted(ctx, req, rq, std::move(res), start);
                        });
    router->add_handler(restinio::router::none_of_methods(restinio::http_method_options()), path,
                        [&ctx, allow](const restinio::request_handle_t& req, auto) {
                          const auto start = Clock::now();
                          const Request rq = basic_request(ctx, *req);
                          Response res = error_response(rq, errors::method_not_allowed());
                          res.headers.emplace_back("Allow", allow);
                          return answer_unrouted(ctx, req, rq, std::move(res), start);
                        });
  }
  router->non_matched_request_handler([&ctx](const restinio::request_handle_t& req) {
    const auto start = Clock::now();
    const Request rq = basic_request(ctx, *req);
    return answer_unrouted(ctx, req, rq, error_response(rq, errors::not_found()), start);
  });
  return std::make_unique<FrontHandler>(ctx, std::move(router), std::move(dispatcher));
}

}  // namespace cj::http

#include "http/server.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <restinio/all.hpp>
#include <set>
#include <thread>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace cj::http {
namespace {

using Router = restinio::router::express_router_t<>;

// Counts open connections so shutdown can wait until idle keep-alive connections are gone
// before the listeners and the io_context are destroyed.
class ConnectionCounter {
 public:
  void state_changed(const restinio::connection_state::notice_t& notice) noexcept {
    const auto cause = notice.cause();
    if (restinio::get_if<restinio::connection_state::accepted_t>(&cause) != nullptr) {
      open_.fetch_add(1, std::memory_order_relaxed);
    } else if (restinio::get_if<restinio::connection_state::closed_t>(&cause) != nullptr) {
      open_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  [[nodiscard]] long open() const { return open_.load(std::memory_order_relaxed); }

 private:
  std::atomic<long> open_{0};
};

struct Traits : public restinio::default_traits_t {
  using request_handler_t = Router;
  using connection_state_listener_t = ConnectionCounter;
  static constexpr bool use_connection_count_limiter = true;
};
using HttpServer = restinio::http_server_t<Traits>;
using Clock = std::chrono::steady_clock;

// RESTinio itself refuses bodies above this many times our limit by closing the connection;
// between our limit and that, the client gets a proper 413 JSON answer.
constexpr std::size_t kHardBodyFactor = 4;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ::tolower);
  return out;
}

// Route parameter names of an express template ("/a/:id/b" -> {"id"}).
std::vector<std::string> param_names(const std::string& path) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == ':') {
      std::size_t j = i + 1;
      while (j < path.size() &&
             (std::isalnum(static_cast<unsigned char>(path[j])) != 0 || path[j] == '_')) {
        ++j;
      }
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
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

// Method, path, headers and request id: what every answer needs, matched route or not.
Request basic_request(const restinio::request_t& req) {
  Request rq;
  const auto& h = req.header();
  rq.method = h.method().c_str();
  rq.path = std::string(h.path());
  h.for_each_field([&rq](const restinio::http_header_field_t& f) {
    rq.headers.emplace_back(lower(f.name()), f.value());
  });
  auto id = rq.header("x-request-id");
  rq.request_id = (id && valid_request_id(*id)) ? *id : next_request_id();
  return rq;
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
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// Everything a handler invocation needs, shared by all listeners.
struct Context {
  const Config& config;
  const ServerHooks& hooks;
  asio::thread_pool& workers;
  std::atomic<int> in_flight{0};
};

// One registered route on one listener.
struct Entry {
  std::string service;
  std::string method;
  std::string path;
  std::vector<std::string> params;
  Handler handler;
  bool blocking = true;
  std::function<std::optional<Response>(const Request&)> fast;
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

    if (rq->body.size() > ctx_.config.max_body_bytes) {
      finish(entry, req, rq, error_response(*rq, errors::payload_too_large()), start);
      return restinio::request_accepted();
    }
    if (bad_query) {
      finish(entry, req, rq,
             error_response(*rq, errors::invalid_field("query", "잘못된 쿼리 문자열입니다.",
                                                       "malformed query string")),
             start);
      return restinio::request_accepted();
    }
    if (!entry->blocking) {
      finish(entry, req, rq, invoke(*entry, *rq), start);
      return restinio::request_accepted();
    }
    if (entry->fast) {
      if (auto res = try_fast(*entry, *rq)) {
        finish(entry, req, rq, std::move(*res), start);
        return restinio::request_accepted();
      }
    }
    asio::post(ctx_.workers, [this, entry, req, rq, start] {
      finish(entry, req, rq, invoke(*entry, *rq), start);
    });
    return restinio::request_accepted();
  }

 private:
  static Request make_request(const Entry& entry, const restinio::request_t& req,
                              const restinio::router::route_params_t& params, bool& bad_query) {
    Request rq = basic_request(req);
    const auto& h = req.header();
    rq.route = entry.path;
    for (const auto& name : entry.params) {
      if (auto v = params.get_param(name)) rq.params.emplace_back(name, std::string(*v));
    }
    const auto q = h.query();
    if (!q.empty()) {
      auto parsed =
          restinio::try_parse_query<restinio::parse_query_traits::javascript_compatible>(q);
      if (parsed) {
        copy_query(*parsed, rq);
      } else {
        bad_query = true;
      }
    }
    rq.body = req.body();
    try {
      rq.client_ip = req.remote_endpoint().address().to_string();
    } catch (const std::exception&) {
      rq.client_ip = "unknown";
    }
    return rq;
  }

  static void copy_query(const restinio::query_string_params_t& q, Request& rq) {
    for (const auto& p : q) rq.query.emplace_back(std::string(p.first), std::string(p.second));
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
              const std::shared_ptr<Request>& rq, Response res, Clock::time_point start) {
    const std::size_t bytes = res.body.size();
    send(ctx_, *req, *rq, res);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (entry->metrics) entry->metrics->observe(res.status, seconds);
    ctx_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    metrics::Registry::instance().in_flight(-1);
    access_log(*entry, *rq, res.status, seconds, bytes);
  }

 public:
  static void send(Context& ctx, restinio::request_t& req, const Request& rq, Response& res) {
    auto out = req.create_response(restinio::http_status_line_t{
        restinio::http_status_code_t{static_cast<std::uint16_t>(res.status)},
        reason_phrase(res.status)});
    out.append_header(restinio::http_field::content_type, res.content_type);
    out.append_header("X-Request-Id", rq.request_id);
    add_cors(ctx, rq, out);
    for (auto& [k, v] : res.headers) out.append_header(k, v);
    out.set_body(std::move(res.body));
    out.done();
  }

  template <typename Builder>
  static void add_cors(Context& ctx, const Request& rq, Builder& out) {
    const auto& allowed = ctx.config.cors_origins;
    if (allowed.empty()) return;
    const auto origin = rq.header("origin");
    if (!origin) return;
    const bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
    if (!any && std::find(allowed.begin(), allowed.end(), *origin) == allowed.end()) return;
    out.append_header("Access-Control-Allow-Origin", any ? "*" : *origin);
    out.append_header("Vary", "Origin");
    out.append_header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
  }

 private:
  void access_log(const Entry& entry, const Request& rq, int status, double seconds,
                  std::size_t bytes) const {
    if (!ctx_.config.access_log) return;
    log::info("request", {{"request_id", rq.request_id},
                          {"service", entry.service},
                          {"method", rq.method},
                          {"path", rq.path},
                          {"route", entry.path},
                          {"status", status},
                          {"duration_ms", seconds * 1000.0},
                          {"bytes", bytes},
                          {"client", rq.client_ip}});
  }

  Context& ctx_;
};

std::unique_ptr<Router> build_router(Context& ctx, Dispatcher& dispatcher, const Listener& l) {
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
    e->metrics = metrics::Registry::instance().route(service, r.method, r.path);
    entries.push_back(e);
  };
  for (const Service* s : l.services) {
    for (const auto& r : s->routes) add(s->name, r);
  }
  add(label, Route{"GET", "/metrics",
                   [](const Request&) {
                     Response r;
                     r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                     r.body = metrics::Registry::instance().render();
                     return r;
                   },
                   false});
  add(label, Route{"GET", "/ready",
                   [&ctx](const Request& rq) {
                     if (ctx.hooks.ready && !ctx.hooks.ready()) {
                       return error_response(rq, errors::unavailable());
                     }
                     return json_response(200, {{"status", "ready"}});
                   },
                   true});

  // Method routes first, then per path: CORS preflight and 405 for every other method.
  std::map<std::string, std::set<std::string>> methods_by_path;
  std::vector<std::string> path_order;
  for (const auto& e : entries) {
    restinio::http_method_id_t m = restinio::http_method_get();
    if (e->method == "POST") m = restinio::http_method_post();
    if (e->method == "PUT") m = restinio::http_method_put();
    if (e->method == "DELETE") m = restinio::http_method_delete();
    if (e->method == "PATCH") m = restinio::http_method_patch();
    router->add_handler(m, e->path,
                        [&dispatcher, e](const restinio::request_handle_t& req,
                                         restinio::router::route_params_t params) {
                          return dispatcher(e, req, params);
                        });
    if (methods_by_path[e->path].empty()) path_order.push_back(e->path);
    methods_by_path[e->path].insert(e->method);
  }
  for (const auto& path : path_order) {
    const auto& methods = methods_by_path[path];
    std::string allow;
    for (const auto& m : methods) allow += (allow.empty() ? "" : ", ") + m;
    allow += ", OPTIONS";
    router->add_handler(
        restinio::http_method_options(), path,
        [&ctx, allow](const restinio::request_handle_t& req, auto) {
          Request rq = basic_request(*req);
          Response res;
          res.status = 204;
          res.headers.emplace_back("Allow", allow);
          if (!ctx.config.cors_origins.empty() && rq.header("origin")) {
            res.headers.emplace_back("Access-Control-Allow-Methods", allow);
            res.headers.emplace_back(
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Accept-Language");
            res.headers.emplace_back("Access-Control-Max-Age", "600");
          }
          Dispatcher::send(ctx, *req, rq, res);
          return restinio::request_accepted();
        });
    router->add_handler(restinio::router::none_of_methods(restinio::http_method_options()), path,
                        [&ctx, allow, methods](const restinio::request_handle_t& req, auto) {
                          Request rq = basic_request(*req);
                          Response res = error_response(rq, errors::method_not_allowed());
                          res.headers.emplace_back("Allow", allow);
                          Dispatcher::send(ctx, *req, rq, res);
                          return restinio::request_accepted();
                        });
  }
  router->non_matched_request_handler([&ctx](const restinio::request_handle_t& req) {
    Request rq = basic_request(*req);
    Response res = error_response(rq, errors::not_found());
    Dispatcher::send(ctx, *req, rq, res);
    return restinio::request_accepted();
  });
  return router;
}

}  // namespace

std::optional<Headers> parse_form(std::string_view body) {
  Headers out;
  if (body.empty()) return out;
  // Form encoding is the query-string encoding with '+' for spaces; '%20' decodes the same way
  // (a literal '+' arrives as '%2B').
  std::string text;
  text.reserve(body.size());
  for (char c : body) {
    if (c == '+') {
      text += "%20";
    } else {
      text.push_back(c);
    }
  }
  auto parsed =
      restinio::try_parse_query<restinio::parse_query_traits::javascript_compatible>(text);
  if (!parsed) return std::nullopt;
  for (const auto& p : *parsed) out.emplace_back(std::string(p.first), std::string(p.second));
  return out;
}

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that disconnects mid-response must not kill the process.
  signal(SIGPIPE, SIG_IGN);
}

Status serve(const Config& config, const std::vector<Listener>& listeners, const ServerHooks& hooks,
             const std::function<void()>& on_listening) {
  asio::io_context io;
  auto connections = std::make_shared<ConnectionCounter>();
  const int workers_n = config.worker_threads > 0 ? config.worker_threads : config.db.pool_size;
  asio::thread_pool workers(static_cast<std::size_t>(std::max(1, workers_n)));
  Context ctx{config, hooks, workers};
  Dispatcher dispatcher(ctx);

  std::vector<std::unique_ptr<HttpServer>> servers;
  for (const auto& l : listeners) {
    auto settings = restinio::server_settings_t<Traits>{};
    settings.port(static_cast<std::uint16_t>(l.port))
        .address(config.bind_address)
        .request_handler(build_router(ctx, dispatcher, l))
        .max_parallel_connections(static_cast<std::size_t>(config.max_connections))
        .read_next_http_message_timelimit(std::chrono::seconds(config.keepalive_timeout_seconds))
        .write_http_response_timelimit(std::chrono::seconds(config.write_timeout_seconds))
        .handle_request_timeout(std::chrono::seconds(60))
        .connection_state_listener(connections)
        .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                      .max_body_size(config.max_body_bytes * kHardBodyFactor)
                                      .max_field_count(100)
                                      .max_url_size(8192));
    servers.push_back(
        std::make_unique<HttpServer>(restinio::external_io_context(io), std::move(settings)));
  }

  // The guard must exist before the threads start, or io.run() may find no work and return.
  auto work_guard = asio::make_work_guard(io);
  std::vector<std::thread> io_threads;
  io_threads.reserve(static_cast<std::size_t>(config.io_threads));
  for (int i = 0; i < config.io_threads; ++i) io_threads.emplace_back([&io] { io.run(); });

  auto stop_io = [&] {
    work_guard.reset();
    io.stop();
    for (auto& t : io_threads) t.join();
    workers.join();
  };

  for (std::size_t i = 0; i < servers.size(); ++i) {
    try {
      servers[i]->open_sync();
    } catch (const std::exception& e) {
      stop_io();
      const std::string text =
          "cannot listen on port " + std::to_string(listeners[i].port) + ": " + e.what();
      return Error{0, "listen", text, text};
    }
  }
  if (on_listening) on_listening();

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  log::info("shutting down", {{"signal", sig}, {"in_flight", ctx.in_flight.load()}});

  for (auto& s : servers) {
    try {
      s->close_sync();
    } catch (const std::exception& e) {
      log::warn("error while closing a listener", {{"error", e.what()}});
    }
  }
  // Drain: in-flight requests finish, then idle keep-alive connections time out (their read
  // limit) or close. Only then may the listeners go: a connection outliving its listener would
  // touch freed memory.
  const auto deadline = Clock::now() + std::chrono::seconds(config.shutdown_grace_seconds);
  while ((ctx.in_flight.load() > 0 || connections->open() > 0) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (connections->open() > 0) {
    log::warn(
        "connections still open at the end of the grace period; exiting without "
        "tearing them down",
        {{"open", connections->open()}});
    log::flush();
    std::_Exit(0);
  }
  stop_io();
  return ok_status();
}

}  // namespace cj::http

#include "http/server.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/work_pool.hpp"
#include "http/dispatch.hpp"
#include "http/readiness.hpp"
#include "http/transport.hpp"

namespace cj::http {
namespace {

using Clock = std::chrono::steady_clock;

// RESTinio itself refuses bodies above this many times our limit by closing the connection;
// between our limit and that, the client gets a proper 413 JSON answer.
constexpr std::size_t kHardBodyFactor = 4;
// Requests read ahead on one connection while earlier ones are handled (HTTP/1.1 pipelining);
// their answers still go out in order.
constexpr std::size_t kMaxPipelined = 16;
// RESTinio's limit for handling one request; the queue timeout (at most 50 s) stays below it.
constexpr auto kHandleRequestTimeout = std::chrono::seconds(60);
// How long /ready waits for its ping before answering 503 (a frozen database).
constexpr auto kReadyBudget = std::chrono::milliseconds(2000);

WorkPool::Options pool_options(const Config& config, const char* name, int threads) {
  return WorkPool::Options{name, std::max(1, threads), config.pools.max_queue,
                           std::chrono::milliseconds(config.pools.max_wait_ms)};
}

int default_cpu_threads() {
  // Half the cores: password hashing may use the machine, but never all of it, so the I/O
  // threads and database work keep a share however many signups and logins arrive.
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / 2);
}

void register_probes(const WorkPool& pool) {
  auto& reg = metrics::Registry::instance();
  const std::map<std::string, std::string> labels{{"pool", pool.options().name}};
  reg.add_gauge_probe("cloudjet_pool_queued", "Tasks waiting in a worker pool's queue", labels,
                      [&pool] { return static_cast<double>(pool.queued()); });
  reg.add_gauge_probe("cloudjet_pool_busy", "Worker pool threads running a task", labels,
                      [&pool] { return static_cast<double>(pool.busy()); });
  reg.add_gauge_probe("cloudjet_pool_refused", "Tasks refused since start (queue full or stale)",
                      labels, [&pool] { return static_cast<double>(pool.refused()); });
  reg.add_gauge_probe("cloudjet_pool_expired",
                      "Tasks dropped since start because their deadline passed in the queue",
                      labels, [&pool] { return static_cast<double>(pool.expired()); });
}

}  // namespace

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
  set_parser_limits();
  asio::io_context io;
  auto connections = std::make_shared<ConnectionTracker>(config.max_connections_per_client,
                                                         config.trusted_proxies);
  const int db_threads = config.worker_threads > 0 ? config.worker_threads : config.db.pool_size;
  const int cpu_threads =
      config.pools.cpu_threads > 0 ? config.pools.cpu_threads : default_cpu_threads();
  WorkPool database(pool_options(config, "database", db_threads));
  WorkPool cpu(pool_options(config, "cpu", cpu_threads));
  WorkPool gateway(pool_options(config, "gateway", config.pools.gateway_threads));
  ReadinessMonitor readiness(hooks.ready, io, kReadyBudget);
  readiness.start();

  Context ctx{config, io, {&database, &cpu, &gateway}, readiness};
  for (const WorkPool* p : {&database, &cpu, &gateway}) register_probes(*p);
  auto& reg = metrics::Registry::instance();
  reg.add_gauge_probe("cloudjet_http_connections_open", "Open HTTP connections", {},
                      [&connections] { return static_cast<double>(connections->open()); });
  reg.add_gauge_probe("cloudjet_http_connections_refused",
                      "Connections refused since start (per-client limit)", {},
                      [&connections] { return static_cast<double>(connections->refused()); });

  std::vector<std::unique_ptr<HttpServer>> servers;
  for (const auto& l : listeners) {
    auto settings = restinio::server_settings_t<Traits>{};
    settings.port(static_cast<std::uint16_t>(l.port))
        .address(config.bind_address)
        .request_handler(build_handler(ctx, l))
        .max_parallel_connections(static_cast<std::size_t>(config.max_connections))
        .max_pipelined_requests(kMaxPipelined)
        // Counts from the start of each request, not from its last byte, so a client trickling
        // a request (slowloris) is cut off after this too.
        .read_next_http_message_timelimit(std::chrono::seconds(config.keepalive_timeout_seconds))
        .write_http_response_timelimit(std::chrono::seconds(config.write_timeout_seconds))
        .handle_request_timeout(kHandleRequestTimeout)
        .connection_state_listener(connections)
        .ip_blocker(connections)
        .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                      .max_body_size(config.max_body_bytes * kHardBodyFactor)
                                      .max_field_count(kMaxHeaderFields)
                                      .max_url_size(kMaxUrlBytes));
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
    database.stop();
    cpu.stop();
    gateway.stop();
    readiness.stop();
    metrics::Registry::instance().clear_probes();
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
    log::drain();  // _Exit runs no destructors: the logger thread's queue must be empty first
    std::_Exit(0);
  }
  stop_io();
  // The io_context (declared first, destroyed last) still holds handlers that own connections,
  // and a connection's destructor reports to its listener's acceptor. So the listeners must
  // outlive the io_context: they are kept, reachable, until the process exits (ASan caught a
  // use-after-free when they were destroyed at the end of this function).
  static auto* retired = new std::vector<std::unique_ptr<HttpServer>>();
  for (auto& s : servers) retired->push_back(std::move(s));
  return ok_status();
}

}  // namespace cj::http

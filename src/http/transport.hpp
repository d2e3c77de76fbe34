// RESTinio's side of the server (internal to src/http): the traits every listener uses, and the
// pieces plugged into them: the socket type that answers framing errors, the logger that tells it
// which error happened, and the connection tracker (open connections, per-client cap).
#pragma once

#include <atomic>
#include <mutex>
#include <restinio/all.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/net_address.hpp"

namespace cj::http {

class FrontHandler;  // dispatch.hpp

// Counts open connections (shutdown waits for them) and the connections of each client, refusing
// a client's connection beyond `max_per_client` (the acceptor closes it at once). A peer that is a
// trusted proxy carries many clients and is not capped.
class ConnectionTracker {
 public:
  ConnectionTracker(int max_per_client, std::vector<net::Cidr> trusted);

  // RESTinio connection_state_listener_t.
  void state_changed(const restinio::connection_state::notice_t& notice) noexcept;
  // RESTinio ip_blocker_t.
  restinio::ip_blocker::inspection_result_t inspect(
      const restinio::ip_blocker::incoming_info_t& info) noexcept;

  [[nodiscard]] long open() const { return open_.load(std::memory_order_relaxed); }
  [[nodiscard]] unsigned long long refused() const {
    return refused_.load(std::memory_order_relaxed);
  }

 private:
  // The bucket a peer is counted under, or "" for a trusted proxy.
  std::string bucket_of(const restinio::endpoint_t& peer) const;

  const int max_per_client_;
  const std::vector<net::Cidr> trusted_;
  std::atomic<long> open_{0};
  std::atomic<unsigned long long> refused_{0};
  std::mutex mu_;
  std::unordered_map<std::string, int> per_client_;
};

// RESTinio closes a connection whose bytes the HTTP parser rejects (malformed request line, too
// many or too large headers, a URL over the limit) without writing anything, and has no hook for
// it. It does log the error first, on the same thread, right before closing the socket; this
// logger notes which error it was, and HttpSocket::shutdown, called by that close, writes a
// short JSON answer for it before the connection goes away.
class FramingLogger {
 public:
  template <typename Builder>
  void trace(Builder&&) const noexcept {}
  template <typename Builder>
  void info(Builder&&) const noexcept {}
  template <typename Builder>
  void warn(Builder&&) const noexcept {}
  template <typename Builder>
  void error(Builder&& builder) const {
    note_error(builder());
  }

  // The status of the parse error logged last on this thread (0: none), and clears it.
  static int take_pending_status() noexcept;

 private:
  static void note_error(const std::string& message) noexcept;
};

// Requests of each connection whose answers are not on the wire yet. A framing error behind
// pipelined requests makes RESTinio drop their pending answers along with the connection; an
// answer written for the error then would be read as the answer to the first of them, so the
// framing answer is only written on a connection with nothing outstanding (otherwise it is
// just closed).
namespace outstanding {
void request_started(restinio::connection_id_t id);
void response_written(restinio::connection_id_t id);
void connection_closed(restinio::connection_id_t id);
bool none(restinio::connection_id_t id);
}  // namespace outstanding

class HttpSocket : public asio::ip::tcp::socket {
 public:
  using Base = asio::ip::tcp::socket;
  using Base::Base;
  HttpSocket(HttpSocket&&) noexcept = default;
  HttpSocket& operator=(HttpSocket&&) noexcept = default;
  ~HttpSocket() = default;

  // Hides Base::shutdown (RESTinio calls it on the concrete type when it closes a connection).
  ASIO_SYNC_OP_VOID shutdown(shutdown_type what, asio::error_code& ec);
};

using Router = restinio::router::express_router_t<>;

struct Traits : public restinio::default_traits_t {
  using request_handler_t = FrontHandler;
  using connection_state_listener_t = ConnectionTracker;
  using ip_blocker_t = ConnectionTracker;
  using logger_t = FramingLogger;
  using stream_socket_t = HttpSocket;
  static constexpr bool use_connection_count_limiter = true;
};
using HttpServer = restinio::http_server_t<Traits>;

// Hard limit of the HTTP parser on the request line plus headers; past it the connection gets
// the framing-error answer (431) and is closed. The softer, configurable MAX_HEADER_KIB is checked
// on complete requests (dispatch.cpp), which can still be answered normally.
constexpr std::size_t kParserHeaderLimit = std::size_t{64} * 1024;
constexpr std::size_t kMaxHeaderFields = 100;
constexpr std::size_t kMaxUrlBytes = 8192;

// Applies the parser-wide limits (process global in http_parser); call before serving.
void set_parser_limits();

}  // namespace cj::http

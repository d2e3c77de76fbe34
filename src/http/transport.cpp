#include "http/transport.hpp"

#include <http_parser.h>
#include <sys/socket.h>

#include <array>
#include <charconv>
#include <cstring>
#include <string_view>

#include "core/errors.hpp"

namespace cj::http {
namespace {

// Set by FramingLogger, consumed by the HttpSocket::shutdown that follows on the same thread.
thread_local int t_pending_status = 0;

// http_parser's error names as RESTinio logs them ("[connection:7] parser error HPE_...: ...").
// The HPE_CB_* ones are RESTinio's own limits, reported through its parser callbacks.
int status_for_parser_error(std::string_view name) {
  if (name == "HPE_HEADER_OVERFLOW" || name == "HPE_CB_header_field" ||
      name == "HPE_CB_header_value") {
    return 431;
  }
  if (name == "HPE_CB_url") return 414;
  if (name == "HPE_CB_headers_complete" || name == "HPE_CB_body") return 413;
  return 400;
}

Error error_for_status(int status) {
  switch (status) {
    case 431: return errors::headers_too_large();
    case 414: return errors::uri_too_long();
    case 413: return errors::payload_too_large();
    default: return errors::bad_request();
  }
}

const char* reason_for_status(int status) {
  switch (status) {
    case 431: return "Request Header Fields Too Large";
    case 414: return "URI Too Long";
    case 413: return "Payload Too Large";
    default: return "Bad Request";
  }
}

// The whole answer, framed by hand: the connection is beyond RESTinio's response machinery.
std::string framing_answer(int status) {
  const Error e = error_for_status(status);
  const std::string body = nlohmann::json{{"message", e.message}, {"error", e.code}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return "HTTP/1.1 " + std::to_string(status) + " " + reason_for_status(status) +
         "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Sharded so that connections on different I/O threads rarely meet on one mutex.
class OutstandingTable {
 public:
  void add(restinio::connection_id_t id, int delta) {
    auto& shard = shards_[id % kShards];
    std::lock_guard lock(shard.mu);
    if (delta > 0) {
      shard.counts[id] += delta;
      return;
    }
    auto it = shard.counts.find(id);
    if (it != shard.counts.end() && (it->second += delta) <= 0) shard.counts.erase(it);
  }
  void erase(restinio::connection_id_t id) {
    auto& shard = shards_[id % kShards];
    std::lock_guard lock(shard.mu);
    shard.counts.erase(id);
  }
  bool none(restinio::connection_id_t id) {
    auto& shard = shards_[id % kShards];
    std::lock_guard lock(shard.mu);
    return shard.counts.find(id) == shard.counts.end();
  }

 private:
  static constexpr std::size_t kShards = 64;
  struct Shard {
    std::mutex mu;
    std::unordered_map<restinio::connection_id_t, int> counts;
  };
  std::array<Shard, kShards> shards_;
};

OutstandingTable& table() {
  static OutstandingTable t;
  return t;
}

}  // namespace

namespace outstanding {
void request_started(restinio::connection_id_t id) {
  table().add(id, 1);
}
void response_written(restinio::connection_id_t id) {
  table().add(id, -1);
}
void connection_closed(restinio::connection_id_t id) {
  table().erase(id);
}
bool none(restinio::connection_id_t id) {
  return table().none(id);
}
}  // namespace outstanding

// ---- ConnectionTracker -------------------------------------------------------------------

ConnectionTracker::ConnectionTracker(int max_per_client, std::vector<net::Cidr> trusted)
    : max_per_client_(max_per_client), trusted_(std::move(trusted)) {}

std::string ConnectionTracker::bucket_of(const restinio::endpoint_t& peer) const {
  std::error_code ec;
  auto ip = net::parse_ip(peer.address().to_string(ec));
  if (ec || !ip) return "unknown";
  for (const auto& c : trusted_) {
    if (c.contains(*ip)) return {};
  }
  return net::client_bucket(*ip);
}

restinio::ip_blocker::inspection_result_t ConnectionTracker::inspect(
    const restinio::ip_blocker::incoming_info_t& info) noexcept {
  try {
    const std::string bucket = bucket_of(info.remote_endpoint());
    if (bucket.empty()) return restinio::ip_blocker::allow();
    std::lock_guard lock(mu_);
    auto it = per_client_.find(bucket);
    if (it != per_client_.end() && it->second >= max_per_client_) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      return restinio::ip_blocker::deny();
    }
    return restinio::ip_blocker::allow();
  } catch (const std::exception&) {
    return restinio::ip_blocker::allow();  // out of memory: the global limit still applies
  }
}

void ConnectionTracker::state_changed(const restinio::connection_state::notice_t& notice) noexcept {
  const auto cause = notice.cause();
  const bool accepted = restinio::get_if<restinio::connection_state::accepted_t>(&cause) != nullptr;
  const bool closed = restinio::get_if<restinio::connection_state::closed_t>(&cause) != nullptr;
  if (!accepted && !closed) return;
  open_.fetch_add(accepted ? 1 : -1, std::memory_order_relaxed);
  if (closed) {
    try {
      outstanding::connection_closed(notice.connection_id());
    } catch (const std::exception&) {
      // nothing to forget
    }
  }
  // Counted here rather than in inspect(): only a connection RESTinio actually started is ever
  // reported closed, so the per-client counts cannot leak.
  try {
    const std::string bucket = bucket_of(notice.remote_endpoint());
    if (bucket.empty()) return;
    std::lock_guard lock(mu_);
    if (accepted) {
      ++per_client_[bucket];
    } else if (auto it = per_client_.find(bucket); it != per_client_.end() && --it->second <= 0) {
      per_client_.erase(it);
    }
  } catch (const std::exception&) {
    // out of memory: this connection is not counted against its client
  }
}

// ---- FramingLogger -------------------------------------------------------------------------

void FramingLogger::note_error(const std::string& message) noexcept {
  // "[connection:<id>] parser error <name>: <description>"
  constexpr std::string_view kPrefix = "[connection:";
  constexpr std::string_view kMarker = "] parser error ";
  const auto at = message.find(kMarker);
  if (at == std::string::npos || message.rfind(kPrefix, 0) != 0) return;
  restinio::connection_id_t id = 0;
  const char* first = message.data() + kPrefix.size();
  const char* last = message.data() + at;
  if (auto [p, ec] = std::from_chars(first, last, id); ec != std::errc() || p != last) return;
  try {
    if (!outstanding::none(id)) return;  // close without an answer (see outstanding)
  } catch (const std::exception&) {
    return;
  }
  std::string_view rest(message);
  rest.remove_prefix(at + kMarker.size());
  t_pending_status = status_for_parser_error(rest.substr(0, rest.find(':')));
}

int FramingLogger::take_pending_status() noexcept {
  const int s = t_pending_status;
  t_pending_status = 0;
  return s;
}

// ---- HttpSocket ----------------------------------------------------------------------------

ASIO_SYNC_OP_VOID HttpSocket::shutdown(shutdown_type what, asio::error_code& ec) {
  if (const int status = FramingLogger::take_pending_status(); status != 0 && is_open()) {
    const int fd = native_handle();
    // Drop what the client already sent (closing over unread bytes would reset the connection
    // and could destroy the answer before the client reads it), then answer without blocking:
    // the few hundred bytes fit in any socket buffer, and a client that does not read gets
    // nothing rather than stalling an I/O thread.
    char sink[16384];
    for (int i = 0; i < 64 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
    }
    try {
      const std::string answer = framing_answer(status);
      (void)::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    } catch (const std::exception&) {
      // out of memory: close without an answer
    }
  }
  Base::shutdown(what, ec);
  ASIO_SYNC_OP_VOID_RETURN(ec);
}

void set_parser_limits() {
  http_parser_set_max_header_size(static_cast<std::uint32_t>(kParserHeaderLimit));
}

}  // namespace cj::http

#include "http/client_address.hpp"

#include <algorithm>

namespace cj::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool trusted_address(const net::IpAddress& ip, const std::vector<net::Cidr>& trusted) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&ip](const net::Cidr& c) { return c.contains(ip); });
}

}  // namespace

std::optional<net::IpAddress> parse_forwarded_entry(std::string_view entry) {
  entry = trim(entry);
  if (entry.size() > 2 && entry.front() == '"' && entry.back() == '"') {
    entry = entry.substr(1, entry.size() - 2);
  }
  if (!entry.empty() && entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return net::parse_ip(entry.substr(1, close - 1));
  }
  if (auto ip = net::parse_ip(entry)) return ip;
  // "a.b.c.d:port": exactly one colon, so it cannot be an IPv6 address.
  const auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    return net::parse_ip(entry.substr(0, colon));
  }
  return std::nullopt;
}

std::string resolve_client(std::string_view peer, const std::vector<std::string>& forwarded_for,
                           const std::vector<net::Cidr>& trusted) {
  auto peer_ip = net::parse_ip(peer);
  if (!peer_ip) return std::string(peer);
  if (trusted.empty() || !trusted_address(*peer_ip, trusted)) return peer_ip->to_string();

  std::vector<std::string_view> hops;
  for (const auto& header : forwarded_for) {
    std::string_view rest = header;
    while (true) {
      const auto comma = rest.find(',');
      hops.push_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  // The nearest hop we can vouch for so far: the peer itself, then each trusted entry.
  net::IpAddress client = *peer_ip;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (trim(*it).empty()) continue;
    auto ip = parse_forwarded_entry(*it);
    // An entry a trusted proxy wrote that is not an address: nothing left of it can be checked,
    // so the request is attributed to that proxy (a client rotating garbage gains nothing).
    if (!ip) break;
    client = *ip;
    if (!trusted_address(*ip, trusted)) break;
  }
  return client.to_string();
}

}  // namespace cj::http

// Who a request is from. Behind a load balancer the TCP peer is the balancer, so when the peer is
// one of TRUSTED_PROXIES the client is read from X-Forwarded-For, walking it from the right and
// skipping trusted hops (each proxy appends the address it received the request from, so only
// the entries written by trusted proxies can be believed; the first untrusted one is the client).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/net_address.hpp"

namespace cj::http {

// `peer`: the TCP peer address; `forwarded_for`: every X-Forwarded-For header value, in the order
// received (several headers are one list). Returns the client address as text.
std::string resolve_client(std::string_view peer, const std::vector<std::string>& forwarded_for,
                           const std::vector<net::Cidr>& trusted);

// One X-Forwarded-For entry ("192.0.2.1", "192.0.2.1:4711", "[2001:db8::1]:4711", "2001:db8::1")
// as an address; nullopt for anything else ("unknown", obfuscated identifiers, garbage).
std::optional<net::IpAddress> parse_forwarded_entry(std::string_view entry);

}  // namespace cj::http

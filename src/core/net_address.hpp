// IP addresses and CIDR ranges as the server reasons about clients: which peers are trusted
// proxies (TRUSTED_PROXIES), and which bucket a client address is throttled under.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace cj::net {

// An IPv4 or IPv6 address in network byte order. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as a
// dual-stack listener reports IPv4 peers) are stored as IPv4, so one rule covers both spellings.
struct IpAddress {
  bool v4 = true;
  std::array<std::uint8_t, 16> bytes{};  // the first 4 for IPv4

  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "192.0.2.1", "2001:db8::1"; nullopt for anything else (no ports, brackets or zone ids).
std::optional<IpAddress> parse_ip(std::string_view text);

struct Cidr {
  IpAddress network;  // host bits cleared
  int prefix = 32;

  [[nodiscard]] bool contains(const IpAddress& ip) const;
  [[nodiscard]] std::string to_string() const;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
std::optional<Cidr> parse_cidr(std::string_view text);

// A comma-separated CIDR list (TRUSTED_PROXIES); the error names the bad entry.
Result<std::vector<Cidr>> parse_cidr_list(std::string_view text);

// The key a client is throttled and counted under: the address itself for IPv4, its /64 for
// IPv6 (one subscriber usually gets a whole /64, so per-address keys would be free to rotate).
std::string client_bucket(const IpAddress& ip);
// Same for text that may not be an address (e.g. "unknown"): used as it is then.
std::string client_bucket(std::string_view address);

}  // namespace cj::net

#include "core/net_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace cj::net {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Clears every bit after the first `prefix` bits.
void mask(IpAddress& ip, int prefix) {
  const int total = ip.v4 ? 32 : 128;
  for (int bit = prefix; bit < total; ++bit) {
    ip.bytes[static_cast<std::size_t>(bit / 8)] &=
        static_cast<std::uint8_t>(~(0x80U >> static_cast<unsigned>(bit % 8)));
  }
}

}  // namespace

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf) == nullptr) return {};
  return buf;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  // inet_pton needs a NUL-terminated string; anything longer than an IPv6 text is not one.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddress ip;
  if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
    ip.v4 = true;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
  ip.v4 = false;
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), ip.bytes.begin())) {
    IpAddress v4;
    v4.v4 = true;
    std::copy(ip.bytes.begin() + 12, ip.bytes.end(), v4.bytes.begin());
    return v4;
  }
  return ip;
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.v4 != network.v4) return false;
  IpAddress masked = ip;
  mask(masked, prefix);
  return masked == network;
}

std::string Cidr::to_string() const {
  return network.to_string() + "/" + std::to_string(prefix);
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  text = trim(text);
  const auto slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return std::nullopt;
  const int max = ip->v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const char* end = digits.data() + digits.size();
    auto [p, ec] = std::from_chars(digits.data(), end, prefix);
    if (digits.empty() || ec != std::errc() || p != end || prefix < 0 || prefix > max) {
      return std::nullopt;
    }
  }
  Cidr c{*ip, prefix};
  mask(c.network, prefix);
  return c;
}

Result<std::vector<Cidr>> parse_cidr_list(std::string_view text) {
  std::vector<Cidr> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    auto c = parse_cidr(item);
    if (!c) {
      // Built by appending: GCC 12 at -O3 reports a false -Wstringop-overflow for
      // `"'" + std::string(...)` (a const char* + std::string&& temporary).
      std::string msg = "'";
      msg.append(item);
      msg += "' is not an IP address or CIDR range";
      return Error{0, "config", msg, msg};
    }
    out.push_back(*c);
  }
  return out;
}

std::string client_bucket(const IpAddress& ip) {
  if (ip.v4) return ip.to_string();
  IpAddress net = ip;
  mask(net, 64);
  return net.to_string() + "/64";
}

std::string client_bucket(std::string_view address) {
  if (auto ip = parse_ip(address)) return client_bucket(*ip);
  return std::string(address);
}

}  // namespace cj::net

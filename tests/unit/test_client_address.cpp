#include <gtest/gtest.h>

#include "core/net_address.hpp"
#include "http/client_address.hpp"

namespace {

std::vector<cj::net::Cidr> cidrs(const std::string& text) {
  auto r = cj::net::parse_cidr_list(text);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : std::vector<cj::net::Cidr>{};
}

TEST(Cidr, ParsesIpv4AndIpv6RangesAndBareAddresses) {
  auto c = cj::net::parse_cidr("10.1.2.3/8");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->to_string(), "10.0.0.0/8");  // host bits cleared
  EXPECT_TRUE(c->contains(*cj::net::parse_ip("10.255.0.1")));
  EXPECT_FALSE(c->contains(*cj::net::parse_ip("11.0.0.1")));

  auto v6 = cj::net::parse_cidr("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*cj::net::parse_ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->contains(*cj::net::parse_ip("2001:db9::1")));
  EXPECT_FALSE(v6->contains(*cj::net::parse_ip("10.0.0.1")));  // families never match

  auto host = cj::net::parse_cidr("192.0.2.7");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix, 32);
  EXPECT_TRUE(host->contains(*cj::net::parse_ip("192.0.2.7")));
  EXPECT_FALSE(host->contains(*cj::net::parse_ip("192.0.2.8")));

  auto zero = cj::net::parse_cidr("0.0.0.0/0");
  ASSERT_TRUE(zero);
  EXPECT_TRUE(zero->contains(*cj::net::parse_ip("203.0.113.9")));
}

TEST(Cidr, RefusesMalformedEntries) {
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x", "10.0.0/8",
                          "example.com", "10.0.0.0/-1", "1.2.3.4:80", "[::1]"}) {
    EXPECT_FALSE(cj::net::parse_cidr(bad)) << bad;
  }
  auto list = cj::net::parse_cidr_list("10.0.0.0/8, bogus");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message_en.find("bogus"), std::string::npos);
  EXPECT_EQ(cidrs(" 10.0.0.0/8 ,, ::1 ").size(), 2U);
}

TEST(Cidr, Ipv4MappedIpv6IsTheIpv4Address) {
  auto mapped = cj::net::parse_ip("::ffff:192.0.2.1");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->v4);
  EXPECT_EQ(mapped->to_string(), "192.0.2.1");
  EXPECT_TRUE(cj::net::parse_cidr("192.0.2.0/24")->contains(*mapped));
}

TEST(ClientBucket, Ipv6IsBucketedByItsSlash64) {
  EXPECT_EQ(cj::net::client_bucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(cj::net::client_bucket("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
  EXPECT_NE(cj::net::client_bucket("2001:db8:1:3::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(cj::net::client_bucket("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(cj::net::client_bucket("unknown"), "unknown");
}

TEST(ForwardedEntry, AcceptsAddressesWithOrWithoutPorts) {
  using cj::http::parse_forwarded_entry;
  EXPECT_EQ(parse_forwarded_entry(" 192.0.2.1 ")->to_string(), "192.0.2.1");
  EXPECT_EQ(parse_forwarded_entry("192.0.2.1:4711")->to_string(), "192.0.2.1");
  EXPECT_EQ(parse_forwarded_entry("2001:db8::1")->to_string(), "2001:db8::1");
  EXPECT_EQ(parse_forwarded_entry("[2001:db8::1]:4711")->to_string(), "2001:db8::1");
  EXPECT_EQ(parse_forwarded_entry("\"[2001:db8::1]\"")->to_string(), "2001:db8::1");
  EXPECT_FALSE(parse_forwarded_entry("unknown"));
  EXPECT_FALSE(parse_forwarded_entry("_hidden"));
  EXPECT_FALSE(parse_forwarded_entry("[2001:db8::1"));
  EXPECT_FALSE(parse_forwarded_entry(""));
}

TEST(ResolveClient, WithoutTrustedProxiesThePeerIsTheClient) {
  EXPECT_EQ(cj::http::resolve_client("198.51.100.7", {"203.0.113.1"}, {}), "198.51.100.7");
  // A peer that is not trusted cannot name someone else, whatever it sends.
  EXPECT_EQ(cj::http::resolve_client("198.51.100.7", {"203.0.113.1"}, cidrs("10.0.0.0/8")),
            "198.51.100.7");
}

TEST(ResolveClient, WalksFromTheRightSkippingTrustedHops) {
  const auto trusted = cidrs("10.0.0.0/8, 2001:db8:ff::/48");
  // client, then two proxies of ours: the entry left of our first proxy is the client.
  EXPECT_EQ(cj::http::resolve_client("10.0.0.2", {"203.0.113.5, 10.0.0.1"}, trusted),
            "203.0.113.5");
  // What the client itself wrote, left of that, is not believed.
  EXPECT_EQ(cj::http::resolve_client("10.0.0.2", {"1.1.1.1, 203.0.113.5, 10.0.0.1"}, trusted),
            "203.0.113.5");
  // Several headers form one list, in order.
  EXPECT_EQ(cj::http::resolve_client("10.0.0.2", {"1.1.1.1", "203.0.113.5", "10.0.0.1"}, trusted),
            "203.0.113.5");
  EXPECT_EQ(cj::http::resolve_client("2001:db8:ff::1", {"2001:db8:1::5"}, trusted),
            "2001:db8:1::5");
  EXPECT_EQ(cj::http::resolve_client("::ffff:10.0.0.2", {"203.0.113.5:1234"}, trusted),
            "203.0.113.5");
}

TEST(ResolveClient, AllTrustedOrNoHeaderOrGarbageStaysWithTheNearestKnownHop) {
  const auto trusted = cidrs("10.0.0.0/8");
  EXPECT_EQ(cj::http::resolve_client("10.0.0.2", {}, trusted), "10.0.0.2");
  EXPECT_EQ(cj::http::resolve_client("10.0.0.2", {"10.0.0.9, 10.0.0.1"}, trusted), "10.0.0.9");
  // Garbage where an address must be: attributed to the proxy that passed it on, so rotating
  // garbage does not give a client fresh throttle keys.
  EXPECT_EQ(cj::http::resolve_client("10.0.0.2", {"203.0.113.5, nonsense"}, trusted), "10.0.0.2");
  EXPECT_EQ(cj::http::resolve_client("10.0.0.2", {"nonsense, 10.0.0.3"}, trusted), "10.0.0.3");
  EXPECT_EQ(cj::http::resolve_client("10.0.0.2", {"203.0.113.5, , "}, trusted), "203.0.113.5");
}

}  // namespace

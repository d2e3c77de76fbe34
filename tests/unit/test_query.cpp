#include <gtest/gtest.h>

#include "http/query.hpp"

namespace {

using cj::http::Headers;
using cj::http::parse_query;

Headers pairs(std::initializer_list<std::pair<const char*, const char*>> l) {
  Headers h;
  for (const auto& [k, v] : l) h.emplace_back(k, v);
  return h;
}

TEST(Query, AcceptsEveryRfc3986QueryCharacterAndTheRawPipe) {
  EXPECT_EQ(parse_query("term=user@example.com"), pairs({{"term", "user@example.com"}}));
  EXPECT_EQ(parse_query("a=x:y/z?w,v;u|t!$'()*~._-"), pairs({{"a", "x:y/z?w,v;u|t!$'()*~._-"}}));
  EXPECT_EQ(parse_query("a=b=c"), pairs({{"a", "b=c"}}));
  EXPECT_EQ(parse_query("q=[1]{2}^`\\\"<>"), pairs({{"q", "[1]{2}^`\\\"<>"}}));
}

TEST(Query, DecodesPlusAndPercentEscapes) {
  EXPECT_EQ(parse_query("name=%ED%99%8D+%EA%B8%B8%EB%8F%99"), pairs({{"name", "홍 길동"}}));
  EXPECT_EQ(parse_query("a=1%2B1&b=%26%3D"), pairs({{"a", "1+1"}, {"b", "&="}}));
  EXPECT_EQ(parse_query("%61=%62"), pairs({{"a", "b"}}));
}

TEST(Query, EmptySegmentsAndNamesWithoutValues) {
  EXPECT_EQ(parse_query(""), Headers{});
  EXPECT_EQ(parse_query("&&a=1&&"), pairs({{"a", "1"}}));
  EXPECT_EQ(parse_query("flag&a=1"), pairs({{"flag", ""}, {"a", "1"}}));
  EXPECT_EQ(parse_query("a=1&flag"), pairs({{"a", "1"}, {"flag", ""}}));
  EXPECT_EQ(parse_query("a="), pairs({{"a", ""}}));
  EXPECT_EQ(parse_query("a=1&a=2"), pairs({{"a", "1"}, {"a", "2"}}));
}

TEST(Query, RefusesMalformedEscapesAndInvalidUtf8) {
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "a=%ff", "a=%ff%fe", "a=%ED%99", "a=%C0%AF",
                          "%ff=1", "a=%E2%82", "a=\x01", "a=\xc3\xa9", "a=b c", "a=\x7f"}) {
    EXPECT_FALSE(parse_query(bad)) << bad;
  }
}

TEST(Form, IsTheQueryEncoding) {
  EXPECT_EQ(cj::http::parse_form("receipt_id=r-1&price=1000&email=a%40b.c+d"),
            pairs({{"receipt_id", "r-1"}, {"price", "1000"}, {"email", "a@b.c d"}}));
  EXPECT_FALSE(cj::http::parse_form("a=%zz"));
}

}  // namespace

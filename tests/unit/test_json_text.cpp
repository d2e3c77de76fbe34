// The hand-written JSON of the access log: the same text nlohmann writes for valid UTF-8, always
// parseable, the same field names and values the old nlohmann-built line had.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "core/json_text.hpp"
#include "http/access_log.hpp"

using namespace cj;

namespace {

std::string as_json(std::string_view s) {
  std::string out;
  json_text::append_string(out, s);
  return out;
}

}  // namespace

TEST(JsonText, StringsMatchNlohmannForValidUtf8) {
  for (const std::string& s : {std::string(""), std::string("plain"), std::string("q\"uo\\te"),
                               std::string("tab\tnl\ncr\rbs\bff\f"), std::string("\x01\x1f\x7f", 3),
                               std::string("nul\0in", 6), std::string("홍길동 ✈ 😀"),
                               std::string("/api/flights?x=1&y=</>")}) {
    EXPECT_EQ(as_json(s), nlohmann::json(s).dump()) << s;
  }
}

TEST(JsonText, InvalidUtf8BecomesReplacementCharactersAndStillParses) {
  EXPECT_EQ(as_json("a\xffz"), "\"a\xEF\xBF\xBDz\"");
  EXPECT_EQ(as_json("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
  EXPECT_EQ(as_json("\xED\xA0\x80"),
            "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");                 // a UTF-16 surrogate
  EXPECT_EQ(as_json("end\xE2\x82"), "\"end\xEF\xBF\xBD\xEF\xBF\xBD\"");  // truncated
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 24, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 256);
    const std::string text = as_json(s);
    ASSERT_TRUE(nlohmann::json::accept(text)) << text;
    // Whatever was valid comes back unchanged.
    const auto back = nlohmann::json::parse(text).get<std::string>();
    if (back.find("\xEF\xBF\xBD") == std::string::npos) {
      EXPECT_EQ(back, s);
    }
  }
}

TEST(JsonText, Numbers) {
  std::string out;
  json_text::append_int(out, -42);
  out += ' ';
  json_text::append_uint(out, 18446744073709551615ULL);
  out += ' ';
  json_text::append_fixed(out, 12.3456, 3);
  out += ' ';
  json_text::append_fixed(out, 2.0, 3);
  out += ' ';
  json_text::append_fixed(out, std::nan(""), 3);
  EXPECT_EQ(out, "-42 18446744073709551615 12.346 2.000 null");
}

TEST(AccessLog, FieldsHaveTheNamesAndValuesOfTheOldLine) {
  http::Request rq;
  rq.method = "GET";
  rq.path = "/api/flights/search";
  rq.request_id = "3f2c-rid";
  rq.client_ip = "203.0.113.7";
  std::string fields;
  http::append_access_fields(fields, "flight", "/api/flights/search", rq, 200, 0.0125, 87);
  const auto line = nlohmann::json::parse("{" + fields + "}");
  const nlohmann::json expected = {{"request_id", "3f2c-rid"},
                                   {"service", "flight"},
                                   {"method", "GET"},
                                   {"path", "/api/flights/search"},
                                   {"route", "/api/flights/search"},
                                   {"status", 200},
                                   {"duration_ms", 12.5},
                                   {"bytes", 87},
                                   {"client", "203.0.113.7"}};
  EXPECT_EQ(line, expected);
  EXPECT_TRUE(line["duration_ms"].is_number_float());
  EXPECT_FALSE(line.contains("trace_id"));  // absent, not empty, when tracing is off
  EXPECT_FALSE(line.contains("span_id"));
}

TEST(AccessLog, TraceAndSpanIdsWhenSetAndHostileStringsEscaped) {
  http::Request rq;
  rq.method = "GET";
  rq.path = "/a\"b\\c\n\xff";
  rq.request_id = "rid";
  rq.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  rq.span_id = "00f067aa0ba902b7";
  std::string fields;
  http::append_access_fields(fields, "", "", rq, 404, 0.001, 0);
  const auto line = nlohmann::json::parse("{" + fields + "}");
  EXPECT_EQ(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(line["span_id"], "00f067aa0ba902b7");
  EXPECT_EQ(line["path"], "/a\"b\\c\n\xEF\xBF\xBD");
  EXPECT_EQ(line["service"], "");
  EXPECT_EQ(line["status"], 404);
}

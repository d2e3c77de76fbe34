// Unit tests for the one JSON entry point (cj::json_input) and the integer field readers of
// cj::validate, plus the models that use them.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "core/json_input.hpp"
#include "core/validate.hpp"
#include "services/admin/model.hpp"
#include "services/booking/model.hpp"
#include "services/payment/model.hpp"

namespace {

using cj::json_input::kMaxDepth;
using cj::json_input::parse;
using cj::json_input::parse_object;
using nlohmann::json;

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nested_objects(std::size_t depth) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) out += R"({"a":)";
  out += "1";
  out += std::string(depth, '}');
  return out;
}

std::string error_code(std::string_view text) {
  auto r = parse(text);
  return r ? std::string("ok") : r.error().code;
}

// ---- parse ----------------------------------------------------------------------------------
TEST(JsonInput, ParsesOrdinaryDocumentsLikeNlohmann) {
  const std::string text =
      R"({"b":[1,-2,3.5,true,false,null,"x"],"a":{"k":"홍길동"},"u":18446744073709551615})";
  auto r = parse(text);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, json::parse(text));
  EXPECT_TRUE((*r)["u"].is_number_unsigned());
  EXPECT_EQ(parse("  42 \r\n\t").value(), json(42));
  EXPECT_EQ(parse(R"("s")").value(), json("s"));
  EXPECT_EQ(parse("[]").value(), json::array());
  EXPECT_EQ(parse("{}").value(), json::object());
  // Duplicate keys: the last one wins, as with json::parse.
  EXPECT_EQ(parse(R"({"a":1,"a":2})").value(), json({{"a", 2}}));
}

TEST(JsonInput, AcceptsExactlyMaxDepthAndRefusesOneMore) {
  EXPECT_TRUE(parse(nested_arrays(kMaxDepth)).ok());
  EXPECT_TRUE(parse(nested_objects(kMaxDepth)).ok());
  for (const std::string& text : {nested_arrays(kMaxDepth + 1), nested_objects(kMaxDepth + 1)}) {
    auto r = parse(text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().code, "invalid_json");
    EXPECT_NE(r.error().message.find("32"), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(parse("[[1]]", 2).ok());
  EXPECT_FALSE(parse("[[[1]]]", 2).ok());
}

TEST(JsonInput, HostileNestingIsRefusedWithoutReadingItAll) {
  // 300k levels (the size that crashed dump()); parsing stops at level 33, so this is instant
  // even under ASan. Unterminated on purpose: the parser must not need to see the end.
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& text :
       {std::string(300000, '['), nested_arrays(300000), nested_objects(100000),
        R"({"scheduleId":1,"x":)" + std::string(300000, '[')}) {
    auto r = parse(text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_json");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(JsonInput, ExactlyOneValueThenOnlyWhitespace) {
  using namespace std::string_literals;
  for (const std::string& text : {
           R"({"a":1}x)"s,
           R"({"a":1}})"s,
           R"({"a":1}{"b":2})"s,
           R"({"a":1} 1)"s,
           R"({"a":1},)"s,
           "{\"a\":1}\0"s,
           "{\"a\":1}\0junk"s,
           "{\"a\":1} \0 {}"s,
           "\0{\"a\":1}"s,
           "{\"a\":\"x\0y\"}"s,
           ""s,
           "   "s,
           "// comment\n{}"s,
           "{\"a\":1 /* c */}"s,
           "{'a':1}"s,
           "{\"a\":1,}"s,
           "[1,]"s,
           "NaN"s,
           "{\"a\":01}"s,
       }) {
    EXPECT_EQ(error_code(text), "invalid_json") << text;
  }
}

TEST(JsonInput, InvalidUtf8IsRefused) {
  for (const std::string_view text : {
           "{\"a\":\"\xff\"}",
           "{\"a\":\"\xc3\"}",              // truncated sequence
           "{\"a\":\"\xc0\xaf\"}",          // overlong '/'
           "{\"a\":\"\xed\xa0\x80\"}",      // UTF-16 surrogate
           "{\"a\":\"\xf4\x90\x80\x80\"}",  // above U+10FFFF
           "{\"\xfe\":1}",                  // in a key
           "{\"a\":\"\\ud800\"}",           // lone surrogate escape
           "\xff{}",
       }) {
    EXPECT_EQ(error_code(text), "invalid_json") << text;
  }
  EXPECT_EQ(parse("{\"a\":\"\\ud83d\\ude00\"}").value()["a"], "\xf0\x9f\x98\x80");
}

TEST(JsonInput, NumbersBeyondADoubleNameTheirField) {
  auto top = parse(R"({"totalAmount":1e309})");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().code, "invalid_field");
  EXPECT_EQ(top.error().message.rfind("totalAmount: ", 0), 0U) << top.error().message;
  auto nested = parse(R"({"passengers":[{"name":"x"},{"age":-1e400}]})");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().message.rfind("passengers[1].age: ", 0), 0U) << nested.error().message;
  // Without a field to name, it is a malformed body.
  EXPECT_EQ(error_code("1e309"), "invalid_json");
  EXPECT_EQ(error_code(R"({")" + std::string(200, 'k') + R"(":1e309})"), "invalid_json");
  // Large but finite numbers are JSON numbers like any other.
  EXPECT_TRUE(parse(R"({"a":1e308,"b":-0,"c":9223372036854775808})").ok());
}

TEST(JsonInput, NulEscapesInStringsAreRefusedNamingTheField) {
  auto top = parse(R"({"name":"홍\u0000길동"})");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().code, "invalid_field");
  EXPECT_EQ(top.error().message.rfind("name: ", 0), 0U) << top.error().message;
  auto nested = parse(R"({"passengers":[{"name":"a"},{"name":"b\u0000"}]})");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().message.rfind("passengers[1].name: ", 0), 0U) << nested.error().message;
  auto in_array = parse(R"({"seats":["1A","\u0000"]})");
  ASSERT_FALSE(in_array.ok());
  EXPECT_EQ(in_array.error().message.rfind("seats[1]: ", 0), 0U) << in_array.error().message;
  // A key is not a field to name; nor is a top-level string.
  EXPECT_EQ(error_code(R"({"a\u0000b":1})"), "invalid_json");
  EXPECT_EQ(error_code(R"("\u0000")"), "invalid_json");
  // An escaped backslash followed by u0000 is six ordinary characters, and U+0001 is no NUL.
  EXPECT_EQ(parse(R"({"a":"\\u0000"})").value()["a"], "\\u0000");
  EXPECT_EQ(parse(R"({"a":"\u0001"})").value()["a"], std::string("\x01"));
}

TEST(JsonInput, ParseObjectRefusesOtherValues) {
  EXPECT_TRUE(parse_object(R"({"a":1})").ok());
  for (std::string_view text : {"[]", "1", R"("x")", "null", "true"}) {
    auto r = parse_object(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, "invalid_json");
  }
}

// ---- integer fields -------------------------------------------------------------------------
TEST(IntegerFields, DigitStrings) {
  using cj::validate::digit_string;
  EXPECT_EQ(digit_string("34"), 34);
  EXPECT_EQ(digit_string("0"), 0);
  EXPECT_EQ(digit_string("007"), 7);  // leading zeros are allowed, as Python's int() took them
  EXPECT_EQ(digit_string("999999999999999999"), 999999999999999999LL);  // 18 digits
  for (std::string_view bad : {"", " 12", "12 ", "+12", "-1", "12a", "1.5", "1e3", "0x10", "١٢",
                               "1_000", "9999999999999999999", "0000000000000000001"}) {
    EXPECT_FALSE(digit_string(bad).has_value()) << bad;
  }
}

TEST(IntegerFields, IntegerValueTakesJsonIntegersAndDigitStringsOnly) {
  using cj::validate::integer_value;
  EXPECT_EQ(integer_value(json(34)), 34);
  EXPECT_EQ(integer_value(json(-5)), -5);  // a JSON integer is an integer; ranges are per field
  EXPECT_EQ(integer_value(json("212")), 212);
  EXPECT_EQ(integer_value(json::parse("-0")), 0);
  EXPECT_EQ(integer_value(json::parse("9223372036854775807")), 9223372036854775807LL);
  for (const json& bad :
       {json::parse("9223372036854775808"), json::parse("18446744073709551615"), json(1.5),
        json(12.0), json::parse("1e3"), json(true), json(false), json(nullptr), json("12a"),
        json(" 12"), json("-1"), json(""), json::array({1}), json::object({{"a", 1}})}) {
    EXPECT_FALSE(integer_value(bad).has_value()) << bad.dump();
  }
}

TEST(IntegerFields, RequiredAndOptionalReaders) {
  using cj::validate::optional_integer;
  using cj::validate::read_positive_int;
  using cj::validate::required_integer;
  const json body{{"id", "34"}, {"n", 3},          {"zero", 0},
                  {"neg", -1},  {"null", nullptr}, {"big", json::parse("9223372036854775808")},
                  {"f", 1.5},   {"s", "12a"}};
  EXPECT_EQ(read_positive_int(body, "id").value(), 34);
  EXPECT_EQ(read_positive_int(body, "n").value(), 3);
  for (const char* field : {"zero", "neg", "big", "f", "s"}) {
    auto r = read_positive_int(body, field);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().code, "invalid_field");
    EXPECT_EQ(r.error().message, std::string(field) + ": 양의 정수여야 합니다.");
    EXPECT_EQ(r.error().message_en, std::string(field) + ": must be a positive integer");
  }
  for (const char* field : {"null", "absent"}) {
    auto r = read_positive_int(body, field);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "missing_field");
    EXPECT_EQ(r.error().message, std::string(field) + "는 필수 입력 항목입니다.");
    EXPECT_FALSE(optional_integer(body, field).value().has_value());
  }
  // Ids and amounts are INT columns: beyond 2^31 - 1 nothing can match, so it is refused.
  EXPECT_EQ(read_positive_int(json{{"id", 2147483647}}, "id").value(), 2147483647);
  EXPECT_EQ(read_positive_int(json{{"id", "2147483648"}}, "id").error().code, "invalid_field");
  const cj::validate::IntegerRule pct{1, 99, "1~99", "1 to 99"};
  EXPECT_EQ(required_integer(json{{"p", "99"}}, "p", pct).value(), 99);
  EXPECT_EQ(required_integer(json{{"p", 100}}, "p", pct).error().message, "p: 1~99");
  EXPECT_EQ(optional_integer(json{{"p", "0"}}, "p", pct).error().code, "invalid_field");
  const auto to_1000 = cj::validate::one_to(1000);
  EXPECT_EQ(required_integer(json{{"s", 1001}}, "s", to_1000).error().message,
            "s: 1 이상 1000 이하의 정수여야 합니다.");
}

TEST(Utf8, StrictWellFormedness) {
  using cj::validate::is_utf8;
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("plain"));
  EXPECT_TRUE(is_utf8("홍길동 \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf"));
  for (std::string_view bad :
       {"\x80", "\xc3", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf",
        "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "a\xfe"}) {
    EXPECT_FALSE(is_utf8(bad)) << testing::PrintToString(std::string(bad));
  }
  EXPECT_EQ(cj::validate::utf8_length("가나다").value(), 3U);
  EXPECT_FALSE(cj::validate::utf8_length("\xed\xa0\x80").has_value());
}

// ---- models ---------------------------------------------------------------------------------
json booking(json overrides = json::object()) {
  json b{{"scheduleId", 34},
         {"passengers", {{{"name", "홍길동"}, {"birth", "1990-01-01"}, {"gender", "M"}}}},
         {"contactInfo", {{"email", "a@example.com"}, {"phone", "010-1234-5678"}}},
         {"totalAmount", 120000}};
  for (auto& [k, v] : overrides.items()) b[k] = v;
  return b;
}

TEST(BookingModel, DigitStringIdsAndAmountsAreIntegers) {
  auto b = cj::booking::parse_new_booking(booking({{"scheduleId", "34"}, {"totalAmount", "0"}}));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->schedule_id, 34);
  EXPECT_EQ(b->total_amount, 0);
  for (const json& bad : {json("12a"), json(" 12"), json("-1"), json(1.5), json(true), json(0),
                          json::parse("9223372036854775808")}) {
    auto r = cj::booking::parse_new_booking(booking({{"scheduleId", bad}}));
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().message, "scheduleId: 양의 정수여야 합니다.") << bad.dump();
  }
  auto neg = cj::booking::parse_new_booking(booking({{"totalAmount", -1}}));
  EXPECT_EQ(neg.error().message, "totalAmount: 0 이상 900,000,000 이하의 정수여야 합니다.");
  auto missing = cj::booking::parse_new_booking(booking({{"totalAmount", nullptr}}));
  EXPECT_EQ(missing.error().code, "missing_field");
}

TEST(BookingModel, FingerprintCoversValidatedFieldsOnly) {
  auto a = cj::booking::parse_new_booking(booking());
  auto same = cj::booking::parse_new_booking(
      booking({{"scheduleId", "34"},
               {"x", json::parse(std::string(30, '[') + "1" + std::string(30, ']'))}}));
  auto other = cj::booking::parse_new_booking(booking({{"totalAmount", 120001}}));
  ASSERT_TRUE(a.ok() && same.ok() && other.ok());
  EXPECT_EQ(cj::booking::request_fingerprint(*a), cj::booking::request_fingerprint(*same));
  EXPECT_NE(cj::booking::request_fingerprint(*a), cj::booking::request_fingerprint(*other));
  EXPECT_EQ(cj::booking::request_fingerprint(*a).size(), 64U);
}

TEST(PaymentModel, InitAmountAndScheduleId) {
  auto p = cj::payment::parse_init({{"amount", "55000"}, {"scheduleId", "34"}});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->amount, 55000);
  EXPECT_EQ(p->schedule_id, 34);
  EXPECT_EQ(cj::payment::parse_init(json::object()).error().message, "amount는 필수입니다.");
  for (const json& bad : {json(0), json(900000001), json("1e3"), json(1.0), json(true)}) {
    auto r = cj::payment::parse_init({{"amount", bad}});
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().message, "amount: 1 이상 900,000,000 이하의 정수여야 합니다.");
  }
  EXPECT_EQ(cj::payment::parse_init({{"amount", 900000000}})->amount, 900000000);
  EXPECT_EQ(cj::payment::parse_init({{"amount", 1}, {"scheduleId", "x"}}).error().message,
            "scheduleId: 양의 정수여야 합니다.");
}

TEST(PaymentModel, WebhookPricesNeverOverflow) {
  using cj::payment::parse_webhook;
  for (const json& price : {json(1e300), json(-1e300), json(1.5), json("-"), json("1e3")}) {
    auto e = parse_webhook({{"order_id", "o"}, {"receipt_id", "r"}, {"price", price}});
    ASSERT_TRUE(e.ok());
    EXPECT_FALSE(e->price.has_value()) << price.dump();
  }
  EXPECT_EQ(parse_webhook({{"order_id", "o"}, {"price", 1000.0}}).value().price, 1000);
  EXPECT_EQ(parse_webhook({{"order_id", "o"}, {"price", "1000"}}).value().price, 1000);
  auto long_receipt = parse_webhook({{"order_id", "o"}, {"receipt_id", std::string(101, 'r')}});
  ASSERT_FALSE(long_receipt.ok());
  EXPECT_EQ(long_receipt.error().code, "invalid_field");
}

TEST(PaymentModel, StoredRawPayloadIsBounded) {
  auto small = cj::payment::parse_webhook({{"order_id", "o"}, {"status", 1}});
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(json::parse(cj::payment::raw_payload_text(*small)),
            json({{"order_id", "o"}, {"status", 1}}));
  auto big = cj::payment::parse_webhook(
      {{"order_id", "o"}, {"receipt_id", "r"}, {"price", 5}, {"pad", std::string(100000, 'x')}});
  ASSERT_TRUE(big.ok());
  const std::string text = cj::payment::raw_payload_text(*big);
  EXPECT_LE(text.size(), cj::payment::kMaxRawPayloadBytes);
  const json stored = json::parse(text);
  EXPECT_EQ(stored["truncated"], true);
  EXPECT_EQ(stored["order_id"], "o");
  EXPECT_EQ(stored["price"], 5);
}

TEST(AdminModel, DigitStringsForPricesSeatsAndPercentages) {
  EXPECT_EQ(cj::admin::parse_discount_percentage({{"discount_percentage", "15"}}).value(), 15);
  for (const json& bad : {json("15.5"), json(" 15"), json(0), json(100), json(15.0)}) {
    auto r = cj::admin::parse_discount_percentage({{"discount_percentage", bad}});
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().message, "discount_percentage: 할인율은 1~99 사이의 정수여야 합니다.");
  }
  json flight{{"flight_id", "CJ999"},      {"departure_airport", "GMP"}, {"arrival_airport", "CJU"},
              {"departure_time", "07:00"}, {"arrival_time", "08:10"},    {"aircraft", "A321"},
              {"base_price", "210000"},    {"total_seats", "180"}};
  auto f = cj::admin::parse_flight(flight);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->base_price, 210000);
  EXPECT_EQ(f->total_seats, 180);
  flight["total_seats"] = "1001";
  EXPECT_EQ(cj::admin::parse_flight(flight).error().message,
            "total_seats: 1 이상 1000 이하의 정수여야 합니다.");
}

}  // namespace

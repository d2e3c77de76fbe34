// Pure validation rules shared by the services (no HTTP, no SQL): unit-tested on their own.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace cj::validate {

// Number of Unicode code points, or nullopt for invalid UTF-8.
std::optional<std::size_t> utf8_length(std::string_view s);
// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. The
// same rule nlohmann::json applies when it serialises, so a checked string never makes dump()
// throw.
bool is_utf8(std::string_view s);
bool is_email(std::string_view s);
bool is_phone(std::string_view s);
// A real calendar date in YYYY-MM-DD form (2024-02-30 is not).
bool is_date(std::string_view s);
// Today's date (UTC, by the service clock) as YYYY-MM-DD.
std::string today();
std::string lowercase_ascii(std::string s);
// A decimal integer > 0 and nothing else ("12", not "012x" or "-3"), e.g. a path id.
std::optional<long long> positive_integer(std::string_view text);
std::string trim(std::string_view s);

// 1 to kMaxIntegerDigits ASCII digits and nothing else ("007" is 7); no sign, no spaces.
constexpr std::size_t kMaxIntegerDigits = 18;  // always fits a long long
std::optional<long long> digit_string(std::string_view text);

// An integer as the original front end sends it (spec/API.md § "Compatibility with the original
// front end"): a JSON integer, or a string of ASCII digits (digit_string) because the page takes
// ids from HTML attributes and <select> values. Not integers: floats (1.5, 1e3, 12.0), booleans,
// signed or padded strings ("-1", "+1", " 12", "12a", ""), integers beyond a long long (2^63).
std::optional<long long> integer_value(const nlohmann::json& v);

// Ids, counts and amounts live in INT columns (MySQL's signed 32 bits): a larger value can name
// no row and would fail an INSERT, so it is refused like any other non-integer.
constexpr long long kMaxInt = 2147483647;

// What an integer field accepts, and how a refusal reads ("<field>: <why>").
struct IntegerRule {
  long long min = 1;
  long long max = kMaxInt;
  std::string why_ko = "양의 정수여야 합니다.";
  std::string why_en = "must be a positive integer";
};
// An integer field in [min, max] (rule); absent or null → missing_field.
Result<long long> required_integer(const nlohmann::json& body, const std::string& field,
                                   const IntegerRule& rule = {});
// The same, but absent or null → nullopt.
Result<std::optional<long long>> optional_integer(const nlohmann::json& body,
                                                  const std::string& field,
                                                  const IntegerRule& rule = {});
// The common case: a required id or count >= 1 ("양의 정수여야 합니다.").
Result<long long> read_positive_int(const nlohmann::json& body, const std::string& field);
// "1 이상 <max> 이하의 정수여야 합니다." / "must be an integer from 1 to <max>".
IntegerRule one_to(long long max);

// JSON field access that answers with the contract's errors.
// Present, a string and not blank → the trimmed string; absent/null/blank → missing_field;
// another type → invalid_field.
Result<std::string> required_string(const nlohmann::json& body, const std::string& field);
// Absent or null → nullopt; a string → it; another type → invalid_field.
Result<std::optional<std::string>> optional_string(const nlohmann::json& body,
                                                   const std::string& field);

}  // namespace cj::validate

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

// JSON field access that answers with the contract's errors.
// Present, a string and not blank → the trimmed string; absent/null/blank → missing_field;
// another type → invalid_field.
Result<std::string> required_string(const nlohmann::json& body, const std::string& field);
// Absent or null → nullopt; a string → it; another type → invalid_field.
Result<std::optional<std::string>> optional_string(const nlohmann::json& body,
                                                   const std::string& field);

}  // namespace cj::validate

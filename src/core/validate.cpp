#include "core/validate.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <regex>

#include "core/clock.hpp"
#include "core/errors.hpp"

namespace cj::validate {

namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 when there is none (RFC 3629 table 3-7:
// the second byte's range depends on the first, which excludes overlongs, surrogates and code
// points above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::optional<std::size_t> utf8_length(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++count) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) return std::nullopt;
    i += n;
  }
  return count;
}

bool is_utf8(std::string_view s) {
  return utf8_length(s).has_value();
}

bool is_email(std::string_view s) {
  // Pragmatic, not RFC 5322: one @, a dotted domain, no spaces or control characters.
  static const std::regex re(
      R"(^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$)");
  if (s.size() > 100) return false;
  return std::regex_match(s.begin(), s.end(), re);
}

bool is_phone(std::string_view s) {
  static const std::regex re(R"(^[0-9+() -]{7,20}$)");
  if (!std::regex_match(s.begin(), s.end(), re)) return false;
  return std::count_if(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) >= 7;
}

bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  const int y = std::stoi(std::string(s.substr(0, 4)));
  const unsigned m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
  const unsigned d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m},
                                        std::chrono::day{d}};
  return y >= 1900 && ymd.ok();
}

std::string today() {
  return clock::today_utc();
}

std::string lowercase_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<long long> positive_integer(std::string_view text) {
  long long v = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || v <= 0) return std::nullopt;
  return v;
}

std::optional<long long> digit_string(std::string_view text) {
  if (text.empty() || text.size() > kMaxIntegerDigits) return std::nullopt;
  long long v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');  // at most 18 digits: no overflow
  }
  return v;
}

std::optional<long long> integer_value(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    // 2^63 and above arrive as unsigned; converting them would wrap to a negative number.
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<long long>::max())) return std::nullopt;
    return static_cast<long long>(u);
  }
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_string()) return digit_string(v.get_ref<const std::string&>());
  return std::nullopt;
}

Result<std::optional<long long>> optional_integer(const nlohmann::json& body,
                                                  const std::string& field,
                                                  const IntegerRule& rule) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<long long>{};
  const auto v = integer_value(*it);
  if (!v || *v < rule.min || *v > rule.max) {
    return errors::invalid_field(field, rule.why_ko, rule.why_en);
  }
  return std::optional<long long>{*v};
}

Result<long long> required_integer(const nlohmann::json& body, const std::string& field,
                                   const IntegerRule& rule) {
  auto v = optional_integer(body, field, rule);
  if (!v) return v.error();
  if (!*v) return errors::missing_field(field);
  return **v;
}

Result<long long> read_positive_int(const nlohmann::json& body, const std::string& field) {
  return required_integer(body, field, IntegerRule{});
}

IntegerRule one_to(long long max) {
  return {1, max, "1 이상 " + std::to_string(max) + " 이하의 정수여야 합니다.",
          "must be an integer from 1 to " + std::to_string(max)};
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

Result<std::string> required_string(const nlohmann::json& body, const std::string& field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return errors::missing_field(field);
  if (!it->is_string()) {
    return errors::invalid_field(field, "문자열이어야 합니다.", "must be a string");
  }
  std::string v = trim(it->get<std::string>());
  if (v.empty()) return errors::missing_field(field);
  return v;
}

Result<std::optional<std::string>> optional_string(const nlohmann::json& body,
                                                   const std::string& field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) {
    return errors::invalid_field(field, "문자열이어야 합니다.", "must be a string");
  }
  return std::optional<std::string>{it->get<std::string>()};
}

}  // namespace cj::validate

#include "core/validate.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <regex>

#include "core/clock.hpp"
#include "core/errors.hpp"

namespace cj::validate {

std::optional<std::size_t> utf8_length(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    if (c < 0x80) {
      n = 1;
    } else if ((c >> 5) == 0x6) {
      n = 2;
    } else if ((c >> 4) == 0xE) {
      n = 3;
    } else if ((c >> 3) == 0x1E) {
      n = 4;
    } else {
      return std::nullopt;
    }
    if (i + n > s.size()) return std::nullopt;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return std::nullopt;
    }
    i += n;
    ++count;
  }
  return count;
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

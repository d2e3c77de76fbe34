#include "http/query.hpp"

#include <restinio/utils/percent_encoding.hpp>

namespace cj::http {
namespace {

// RESTinio's decoder (escapes, `+`, UTF-8 of the decoded bytes) with the characters allowed
// unescaped widened to all printable ASCII; `%` and `+` are handled before this is asked.
struct QueryChars {
  static constexpr bool ordinary_char(char c) noexcept { return c > 0x20 && c < 0x7f; }
};

}  // namespace

std::optional<std::string> decode_component(std::string_view text) {
  auto decoded = restinio::utils::try_unescape_percent_encoding<QueryChars>(text);
  if (!decoded) return std::nullopt;
  return std::move(*decoded);
}

std::optional<Headers> parse_query(std::string_view text) {
  Headers out;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto name = decode_component(pair.substr(0, eq));
    auto value =
        decode_component(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::optional<Headers> parse_form(std::string_view body) {
  return parse_query(body);
}

}  // namespace cj::http

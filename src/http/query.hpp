// Query strings (and form bodies, the same encoding): `name=value` pairs separated by `&`, `+` for
// a space, percent-escapes decoded and required to form valid UTF-8.
//
// Why not RESTinio's parser: its strict traits refuse characters RFC 3986 allows in a query
// (`@ : / ? , ;` — so `?term=user@example.com` was a 400) and what browsers send unescaped (`|`),
// and its relaxed traits misread pairs without `=`. Any printable ASCII character is taken as
// itself here; controls, raw bytes >= 0x80 and malformed or non-UTF-8 escapes are refused.
#pragma once

#include <optional>
#include <string_view>

#include "http/types.hpp"

namespace cj::http {

// Decoded pairs in order (a name without `=` has an empty value; empty segments are skipped), or
// nullopt when the text is malformed.
std::optional<Headers> parse_query(std::string_view text);

// One percent-encoded component (`+` is a space); nullopt when malformed.
std::optional<std::string> decode_component(std::string_view text);

}  // namespace cj::http

// Writing JSON text by hand on hot paths (the access log line, cached bodies) where building an
// nlohmann::json tree per call costs more than the work it describes. For valid UTF-8 the output
// is what nlohmann's dump() writes (UTF-8 kept as is, `"`, `\\` and control characters escaped);
// each byte that starts no valid UTF-8 sequence becomes U+FFFD, so the line always parses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cj::json_text {

// Appends `s` as a quoted JSON string.
void append_string(std::string& out, std::string_view s);
// Appends `"key":` (the key must need no escaping: callers pass literals).
inline void append_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}
void append_int(std::string& out, long long v);
void append_uint(std::string& out, unsigned long long v);
// A fixed-point number with `decimals` digits after the point (always has a point, so readers
// that distinguish integers from floats see a float every time).
void append_fixed(std::string& out, double v, int decimals);

}  // namespace cj::json_text

// The one way text from outside (request bodies, webhook payloads, gateway answers, JWT segments)
// becomes JSON. nlohmann's parser is iterative, but dump(), comparisons and any walk over the
// resulting tree are recursive, so a document nested 300k deep would overflow the stack later;
// the nesting is therefore bounded while parsing, and parsing stops at the first level too many.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/result.hpp"

namespace cj::json_input {

// No request of the API nests deeper than 4 levels; 32 leaves room for gateway payloads.
constexpr std::size_t kMaxDepth = 32;

// Exactly one JSON value (RFC 8259, valid UTF-8), then only whitespace; objects and arrays nested
// at most `max_depth` deep. Errors (all 400):
// - invalid_json for syntax errors, invalid UTF-8, a NUL byte anywhere, trailing content;
// - invalid_json with its own message for too deep a document;
// - invalid_field naming the field (e.g. "passengers[0].age") for a number that does not fit a
//   double (1e309), so the client learns which value to fix.
Result<nlohmann::json> parse(std::string_view text, std::size_t max_depth = kMaxDepth);

// The same, and the value must be an object (every request body of the API is one).
Result<nlohmann::json> parse_object(std::string_view text, std::size_t max_depth = kMaxDepth);

}  // namespace cj::json_input

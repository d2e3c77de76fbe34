// GET /api/docs/openapi.json: the API description (docs/openapi.yaml), on every port.
#pragma once

#include <string_view>

#include "http/types.hpp"

namespace cj::http {

// docs/openapi.yaml as compact JSON, converted at build time (scripts/embed-openapi.py writes
// the definition into build/generated/openapi_data.cpp), so the binary needs no YAML parser and
// one file deploys everywhere, like the migrations.
std::string_view openapi_json();

// The document, answered on the I/O thread (a constant, no database).
Route api_docs_route();

}  // namespace cj::http

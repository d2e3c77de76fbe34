// Every error the API returns, in one place: status, stable code, Korean (default) and English
// messages. Korean texts are the original service's, so the front end's messages do not change.
#pragma once

#include <cstddef>
#include <string>

#include "core/result.hpp"

namespace cj::errors {

// ---- generic ----
Error invalid_json();
// A body nested deeper than the parser allows (code invalid_json: it is a malformed body).
Error json_too_deep(std::size_t max_depth);
Error missing_field(const std::string& field);
Error invalid_field(const std::string& field, const std::string& why_ko, const std::string& why_en);
Error not_found();
Error method_not_allowed();
Error payload_too_large();
Error internal();
Error unavailable();
Error too_many_attempts();

// ---- transport and load ----
Error bad_request();        // a request the HTTP parser rejects (400, then close)
Error headers_too_large();  // 431
Error uri_too_long();       // 414
Error invalid_path();       // a path with invalid percent-escapes or UTF-8 (400)
Error overloaded();         // a worker pool refused or dropped the request (503)
Error too_many_signups();   // 429, with Retry-After

// ---- auth ----
Error token_missing();
Error token_expired();
Error token_invalid();
Error admin_required();
Error email_taken();
Error weak_password();
Error login_fields_required();
Error invalid_credentials();
Error user_not_found();

}  // namespace cj::errors

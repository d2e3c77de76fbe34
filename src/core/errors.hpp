// Every error the API returns, in one place: status, stable code, Korean (default) and English
// messages. Korean texts are the original service's, so the front end's messages do not change.
#pragma once

#include <string>

#include "core/result.hpp"

namespace cj::errors {

// ---- generic ----
Error invalid_json();
Error missing_field(const std::string& field);
Error invalid_field(const std::string& field, const std::string& why_ko, const std::string& why_en);
Error not_found();
Error method_not_allowed();
Error payload_too_large();
Error internal();
Error unavailable();
Error too_many_attempts();

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

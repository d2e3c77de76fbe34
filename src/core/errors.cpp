#include "core/errors.hpp"

#include "core/db.hpp"

namespace cj::errors {

Error invalid_json() {
  return {400, "invalid_json", "잘못된 요청 형식입니다. JSON 객체를 보내주세요.",
          "Malformed request body: a JSON object is expected."};
}

Error json_too_deep(std::size_t max_depth) {
  const std::string n = std::to_string(max_depth);
  return {400, "invalid_json", "요청 본문의 JSON 중첩이 너무 깊습니다. (최대 " + n + "단계)",
          "Malformed request body: JSON nested deeper than " + n + " levels."};
}

Error missing_field(const std::string& field) {
  return {400, "missing_field", field + "는 필수 입력 항목입니다.", field + " is required."};
}

Error invalid_field(const std::string& field, const std::string& why_ko,
                    const std::string& why_en) {
  return {400, "invalid_field", field + ": " + why_ko, field + ": " + why_en};
}

Error not_found() {
  return {404, "not_found", "요청한 경로를 찾을 수 없습니다.", "No such endpoint."};
}

Error method_not_allowed() {
  return {405, "method_not_allowed", "허용되지 않는 메서드입니다.",
          "Method not allowed for this endpoint."};
}

Error payload_too_large() {
  return {413, "payload_too_large", "요청 본문이 너무 큽니다.", "Request body too large."};
}

Error internal() {
  return db::internal_error();
}
Error unavailable() {
  return db::unavailable_error();
}

Error too_many_attempts() {
  return {429, "too_many_attempts", "로그인 시도가 너무 많습니다. 잠시 후 다시 시도해주세요.",
          "Too many login attempts. Please try again later."};
}

Error bad_request() {
  return {400, "bad_request", "잘못된 HTTP 요청입니다.", "Malformed HTTP request."};
}

Error headers_too_large() {
  return {431, "headers_too_large", "요청 헤더가 너무 큽니다.", "Request header fields too large."};
}

Error uri_too_long() {
  return {414, "uri_too_long", "요청 주소가 너무 깁니다.", "Request URI too long."};
}

Error invalid_path() {
  return {400, "invalid_path", "잘못된 요청 경로입니다.",
          "Malformed request path (invalid percent-encoding or UTF-8)."};
}

Error overloaded() {
  return {503, "overloaded", "요청이 많아 지금은 처리할 수 없습니다. 잠시 후 다시 시도해주세요.",
          "The server is busy. Please try again shortly."};
}

Error too_many_signups() {
  return {429, "too_many_attempts", "회원가입 요청이 너무 많습니다. 잠시 후 다시 시도해주세요.",
          "Too many signups from this client. Please try again later."};
}

Error token_missing() {
  return {401, "token_missing", "토큰이 없습니다.", "Token is missing."};
}
Error token_expired() {
  return {401, "token_expired", "토큰이 만료되었습니다.", "Token has expired."};
}
Error token_invalid() {
  return {401, "invalid_token", "유효하지 않은 토큰입니다.", "Invalid token."};
}
Error admin_required() {
  return {403, "forbidden", "관리자 권한이 필요합니다.", "Administrator role required."};
}
Error email_taken() {
  return {400, "email_taken", "이미 존재하는 이메일입니다.", "This email is already registered."};
}
Error weak_password() {
  return {400, "weak_password", "비밀번호는 8자 이상이어야 합니다.",
          "Password must be at least 8 characters long."};
}
Error login_fields_required() {
  return {400, "missing_field", "이메일과 비밀번호를 입력해주세요.",
          "Please enter your email and password."};
}
Error invalid_credentials() {
  return {401, "invalid_credentials", "이메일 또는 비밀번호가 잘못되었습니다.",
          "Invalid email or password."};
}
Error user_not_found() {
  return {404, "user_not_found", "사용자를 찾을 수 없습니다.", "User not found."};
}

}  // namespace cj::errors

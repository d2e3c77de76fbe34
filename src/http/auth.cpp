#include "http/auth.hpp"

#include <chrono>

#include "core/clock.hpp"
#include "core/errors.hpp"

namespace cj::http {

Result<security::Claims> authenticate(const Request& rq, const std::string& secret) {
  const auto header = rq.header("authorization");
  if (!header || header->empty()) return errors::token_missing();
  constexpr std::string_view kBearer = "Bearer ";
  if (header->size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), header->begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return errors::token_invalid();
  }
  const std::string token = header->substr(kBearer.size());
  auto result = security::verify_jwt(token, secret, clock::now_unix());
  if (result.claims) return *result.claims;
  if (result.error == security::JwtError::Expired) return errors::token_expired();
  return errors::token_invalid();
}

Handler authed(const std::string& secret, AuthedHandler handler) {
  return [secret, handler = std::move(handler)](const Request& rq) {
    auto who = authenticate(rq, secret);
    if (!who) return error_response(rq, who.error());
    return handler(rq, *who);
  };
}

}  // namespace cj::http

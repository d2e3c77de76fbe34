#include "http/auth.hpp"

#include <algorithm>
#include <cctype>

#include "core/clock.hpp"
#include "core/errors.hpp"

namespace cj::http {

Result<Caller> Authenticator::authenticate(const Request& rq) const {
  const auto header = rq.header("authorization");
  if (!header || header->empty()) return errors::token_missing();
  constexpr std::string_view kBearer = "Bearer ";
  if (header->size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), header->begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) ==
               std::tolower(static_cast<unsigned char>(b));
      })) {
    return errors::token_invalid();
  }
  const std::string token = header->substr(kBearer.size());
  auto result = security::verify_jwt(token, secret, clock::now_unix(), max_token_lifetime_seconds);
  if (!result.claims) {
    if (result.error == security::JwtError::Expired) return errors::token_expired();
    return errors::token_invalid();
  }
  if (!current_role) return errors::internal();  // wiring bug: never trust an unchecked token
  auto role = current_role(result.claims->user_id);
  if (!role) return role.error();
  if (!*role) return errors::token_invalid();
  return Caller{std::move(*result.claims), std::move(**role)};
}

Handler authed(const Authenticator& auth, AuthedHandler handler) {
  return [&auth, handler = std::move(handler)](const Request& rq) {
    auto who = auth.authenticate(rq);
    if (!who) return error_response(rq, who.error());
    return handler(rq, who->claims);
  };
}

}  // namespace cj::http

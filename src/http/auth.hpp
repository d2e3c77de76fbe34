// Bearer-token authentication for routes: `authed(auth, handler)` answers the contract's 401s
// and hands the handler the verified claims of a user that still exists.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "core/security.hpp"
#include "http/types.hpp"

namespace cj::http {

struct Caller {
  security::Claims claims;
  std::string role;  // the user's role in the database now (claims.role is what the token says)
};

// Verifies tokens and checks that their user still exists. A signature only proves the token was
// issued; the account may have been deleted since (or the token forged with a leaked key for an
// id that never existed), and such a caller must get 401, not a foreign-key failure later.
struct Authenticator {
  std::string secret;
  std::int64_t max_token_lifetime_seconds = 0;  // JWT_TTL_SECONDS
  // The user's current role; nullopt when no such user exists. One primary-key lookup.
  std::function<Result<std::optional<std::string>>(std::int64_t user_id)> current_role;

  [[nodiscard]] Result<Caller> authenticate(const Request& rq) const;
};

using AuthedHandler = std::function<Response(const Request&, const security::Claims&)>;
// `auth` must outlive the handler (it lives in the App).
Handler authed(const Authenticator& auth, AuthedHandler handler);

}  // namespace cj::http

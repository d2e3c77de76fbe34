// Bearer-token authentication for routes: `authed(secret, handler)` answers the contract's 401s
// and hands the handler the verified claims.
#pragma once

#include <functional>
#include <string>

#include "core/result.hpp"
#include "core/security.hpp"
#include "http/types.hpp"

namespace cj::http {

Result<security::Claims> authenticate(const Request& rq, const std::string& secret);

using AuthedHandler = std::function<Response(const Request&, const security::Claims&)>;
Handler authed(const std::string& secret, AuthedHandler handler);

}  // namespace cj::http

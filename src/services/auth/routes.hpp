// The auth service: signup, login, profile, health (spec/API.md § Auth).
#pragma once

#include "app/app.hpp"

namespace cj::auth {

http::Service make_service(App& app);

}  // namespace cj::auth

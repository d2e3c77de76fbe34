// The auth service: signup, login, profile, health (spec/API.md § Auth).
#pragma once

#include "core/attempt_limiter.hpp"
#include "core/config.hpp"
#include "core/db.hpp"
#include "http/auth.hpp"
#include "http/types.hpp"

namespace cj::auth {

// What the auth service uses, built in app/.
struct Deps {
  db::Db& db;
  const Config& config;
  const http::Authenticator& authenticator;
  AttemptLimiter& login_limiter;  // signup and login throttling (shared via Redis when configured)
};

http::Service make_service(const Deps& deps);

}  // namespace cj::auth

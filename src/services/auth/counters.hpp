// Business counters of the auth service: requests refused by the login and signup throttles
// (a rising rate is credential stuffing or a signup flood).
#pragma once

namespace cj::auth::counters {

enum class Throttle { Login, Signup };

void throttled(Throttle which);

}  // namespace cj::auth::counters

// The flight service's routes.
#pragma once

#include "app/app.hpp"

namespace cj::flight {

http::Service make_service(App& app);

}  // namespace cj::flight

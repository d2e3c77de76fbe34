// The booking service's routes.
#pragma once

#include "app/app.hpp"

namespace cj::booking {

http::Service make_service(App& app);

}  // namespace cj::booking

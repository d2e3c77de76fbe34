// The admin service's routes.
#pragma once

#include "app/app.hpp"

namespace cj::admin {

http::Service make_service(App& app);

}  // namespace cj::admin

// The payment service's routes.
#pragma once

#include "app/app.hpp"

namespace cj::payment {

http::Service make_service(App& app);

}  // namespace cj::payment

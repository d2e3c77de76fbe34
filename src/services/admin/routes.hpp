// The admin service's routes.
#pragma once

#include "core/config.hpp"
#include "core/db.hpp"
#include "http/auth.hpp"
#include "http/types.hpp"
#include "services/booking/refunds.hpp"
#include "services/flight/catalog_invalidator.hpp"

namespace cj::admin {

// What the admin service uses, built in app/ (and by the handler tests, with fakes).
struct Deps {
  db::Db& db;
  const Config& config;
  const http::Authenticator& authenticator;
  flight::CatalogInvalidator& catalog;
  booking::Refunds& refunds;  // an admin cancel refunds what the booking captured
};

http::Service make_service(const Deps& deps);

}  // namespace cj::admin

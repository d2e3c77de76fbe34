// The booking service's routes.
#pragma once

#include "core/config.hpp"
#include "core/db.hpp"
#include "http/auth.hpp"
#include "http/types.hpp"
#include "services/booking/refunds.hpp"
#include "services/flight/catalog_invalidator.hpp"

namespace cj::booking {

// What the booking service uses, built in app/ (and by the handler tests, with fakes): no service
// sees another's internals or the process-wide wiring.
struct Deps {
  db::Db& db;
  const Config& config;
  const http::Authenticator& authenticator;
  // Occupied seats are cached beside the catalogue's search results (same backend, same TTL).
  flight::CatalogCache& seat_cache;
  flight::CatalogInvalidator& catalog;
  Refunds& refunds;
};

http::Service make_service(const Deps& deps);

}  // namespace cj::booking

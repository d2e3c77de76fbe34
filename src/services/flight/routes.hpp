// The flight service's routes.
#pragma once

#include "core/config.hpp"
#include "core/db.hpp"
#include "http/types.hpp"

namespace cj::flight {

class CatalogCache;

// What the flight service uses, built in app/. It only reads: the writers invalidate through
// CatalogInvalidator.
struct Deps {
  db::Db& db;
  const Config& config;
  CatalogCache& catalog;    // search, featured, promotions
  CatalogCache& reference;  // airports (in process, TTL-bounded)
};

http::Service make_service(const Deps& deps);

}  // namespace cj::flight

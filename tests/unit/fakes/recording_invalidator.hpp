// A CatalogInvalidator that records what each applied write touched instead of dropping cache
// entries: for tests that assert the Touched a store write reported.
#pragma once

#include <vector>

#include "services/flight/catalog_invalidator.hpp"

namespace cj::fakes {

class RecordingInvalidator final : public flight::CatalogInvalidator {
 public:
  std::vector<flight::Touched> applied;

 protected:
  void invalidate(const flight::Touched& touched) override { applied.push_back(touched); }
};

}  // namespace cj::fakes

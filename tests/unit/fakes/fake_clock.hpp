// Stands the service clock (core/clock.hpp) at an instant for one test, and back after it.
#pragma once

#include <cstdint>

#include "core/clock.hpp"

namespace cj::fakes {

class FakeClock {
 public:
  explicit FakeClock(std::int64_t unix_seconds) { clock::start_at(unix_seconds); }
  ~FakeClock() { clock::use_system_clock(); }
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;
};

}  // namespace cj::fakes

#include <gtest/gtest.h>

#include "core/attempt_limiter.hpp"

namespace {

TEST(MemoryLimiter, LocksAKeyAfterMaxFailuresAndOnlyThatKey) {
  auto l = cj::make_memory_limiter();
  for (int i = 0; i < 2; ++i) l->record_failure("email:a", 60);
  EXPECT_EQ(l->retry_after("email:a", 3), 0);
  l->record_failure("email:a", 60);
  const int wait = l->retry_after("email:a", 3);
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, 61);
  EXPECT_EQ(l->retry_after("email:b", 3), 0);
}

TEST(MemoryLimiter, ResetClearsTheCount) {
  auto l = cj::make_memory_limiter();
  for (int i = 0; i < 5; ++i) l->record_failure("k", 60);
  EXPECT_GT(l->retry_after("k", 5), 0);
  l->reset("k");
  EXPECT_EQ(l->retry_after("k", 5), 0);
}

}  // namespace

#include <gtest/gtest.h>

#include "core/cache.hpp"

namespace {

TEST(MemoryCache, StaysWithinItsByteBudget) {
  constexpr std::size_t kBudget = 1024 * 1024;
  auto c = cj::make_memory_cache(100000, kBudget);
  const std::string big(50 * 1024, 'x');
  for (int i = 0; i < 200; ++i) {
    auto l = c->get("search:ICN:CJU:" + std::to_string(i), "");
    c->put("search:ICN:CJU:" + std::to_string(i), l.version, "", big, 300);
    EXPECT_LE(c->stats().bytes, kBudget);
  }
  // Roughly budget / entry size entries remain, the most recent ones.
  EXPECT_GE(c->stats().entries, 15U);
  EXPECT_LE(c->stats().entries, 20U);
  EXPECT_TRUE(c->get("search:ICN:CJU:199", "").value);
  EXPECT_FALSE(c->get("search:ICN:CJU:0", "").value);
}

TEST(MemoryCache, AnEntryLargerThanTheBudgetIsNotStored) {
  auto c = cj::make_memory_cache(100, 64 * 1024);
  auto l = c->get("g", "k");
  c->put("g", l.version, "k", std::string(100 * 1024, 'x'), 300);
  EXPECT_FALSE(c->get("g", "k").value);
  EXPECT_EQ(c->stats().bytes, 0U);
}

TEST(MemoryCache, ReplacingAnEntryDoesNotLeakItsBytes) {
  auto c = cj::make_memory_cache(100, 1024 * 1024);
  for (int i = 0; i < 50; ++i) {
    auto l = c->get("g", "k");
    c->put("g", l.version, "k", std::string(1000, 'a' + (i % 26)), 300);
  }
  EXPECT_EQ(c->stats().entries, 1U);
  EXPECT_LT(c->stats().bytes, 2000U);
}

TEST(MemoryCache, StaleVersionEntriesAreDroppedOnAccess) {
  auto c = cj::make_memory_cache(100, 1024 * 1024);
  auto l = c->get("seats:1", "k");
  c->put("seats:1", l.version, "k", std::string(10000, 'x'), 300);
  EXPECT_TRUE(c->get("seats:1", "k").value);
  const auto before = c->stats();
  c->invalidate("seats:1");
  EXPECT_FALSE(c->get("seats:1", "k").value);
  EXPECT_EQ(c->stats().entries, before.entries - 1);
  EXPECT_LT(c->stats().bytes, before.bytes);
}

TEST(MemoryCache, AReaderThatMissedBeforeAWriteCannotStoreOldData) {
  auto c = cj::make_memory_cache(100, 1024 * 1024);
  auto l = c->get("g", "k");
  c->invalidate("g");  // a writer committed meanwhile
  c->put("g", l.version, "k", "old", 300);
  EXPECT_FALSE(c->get("g", "k").value);
}

}  // namespace

namespace {

// A hit hands out the stored body itself (shared, immutable), not a copy made under the lock; a
// body stays valid for its holder after the entry is invalidated or evicted.
TEST(MemoryCache, HitsShareTheStoredBodyWhichOutlivesItsEntry) {
  auto c = cj::make_memory_cache(100, 1 << 20);
  auto miss = c->get("g", "k");
  ASSERT_FALSE(miss.value);
  auto body = std::make_shared<const std::string>(std::string(4096, 'b'));
  c->put("g", miss.version, "k", body, 60);
  auto a = c->get("g", "k");
  auto b = c->get("g", "k");
  ASSERT_TRUE(a.value && b.value);
  EXPECT_EQ(a.value.get(), body.get());
  EXPECT_EQ(b.value.get(), body.get());
  c->invalidate("g");
  EXPECT_FALSE(c->get("g", "k").value);
  EXPECT_EQ(*a.value, std::string(4096, 'b'));
}

}  // namespace

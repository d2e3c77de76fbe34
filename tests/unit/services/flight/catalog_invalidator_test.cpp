// The one after-commit step of every catalogue-changing write: what a Touched drops from the
// caches, that an outcome is only handed out through it, and that no service drops catalogue
// entries by hand (which would bring back invalidation by convention).
#include "services/flight/catalog_invalidator.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fakes/fake_cache.hpp"
#include "fakes/recording_invalidator.hpp"
#include "services/flight/catalog_cache.hpp"

namespace {

using cj::fakes::FakeCache;
using cj::flight::CacheInvalidator;
using cj::flight::CatalogCache;
using cj::flight::Touched;
using cj::flight::Written;
using Groups = std::vector<std::string>;

class CacheInvalidatorTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeCache::Log> catalog_log_ = std::make_shared<FakeCache::Log>();
  std::shared_ptr<FakeCache::Log> reference_log_ = std::make_shared<FakeCache::Log>();
  CatalogCache catalog_{std::make_unique<FakeCache>(catalog_log_), 60};
  CatalogCache reference_{std::make_unique<FakeCache>(reference_log_), 60};
  CacheInvalidator invalidator_{catalog_, reference_};
};

TEST_F(CacheInvalidatorTest, ASearchChangeDropsThatSearchAndTheFeaturedLists) {
  Touched t;
  t.searches.push_back({"ICN", "NRT", "2030-01-20"});
  const int value = invalidator_.apply(Written<int>{42, t});
  EXPECT_EQ(value, 42);
  EXPECT_EQ(catalog_log_->invalidated,
            (Groups{CatalogCache::search_group("ICN", "NRT", "2030-01-20"), "featured"}));
  EXPECT_TRUE(reference_log_->invalidated.empty());
}

TEST_F(CacheInvalidatorTest, SeatMapsFeaturedAndAirportsGoToTheirOwnCaches) {
  Touched t;
  t.seat_maps = {7, 9};
  t.featured = true;
  t.airports = true;
  invalidator_.apply(Written<int>{0, t});
  EXPECT_EQ(catalog_log_->invalidated,
            (Groups{CatalogCache::seats_group(7), CatalogCache::seats_group(9), "featured"}));
  EXPECT_EQ(reference_log_->invalidated, (Groups{CatalogCache::kAirportsGroup}));
}

TEST_F(CacheInvalidatorTest, AWriteThatTouchedNothingDropsNothing) {
  invalidator_.apply(Written<std::string>{"replayed", {}});
  EXPECT_TRUE(catalog_log_->invalidated.empty());
  EXPECT_TRUE(reference_log_->invalidated.empty());
}

TEST_F(CacheInvalidatorTest, ADroppedEntryIsLoadedAgain) {
  int loads = 0;
  auto load = [&]() -> cj::Result<std::string> { return std::to_string(++loads); };
  const std::string group = CatalogCache::search_group("ICN", "NRT", "2030-01-20");
  EXPECT_EQ(*catalog_.get_or_load(group, "", load), "1");
  EXPECT_EQ(*catalog_.get_or_load(group, "", load), "1");
  Touched t;
  t.searches.push_back({"ICN", "NRT", "2030-01-20"});
  invalidator_.apply(Written<int>{0, t});
  EXPECT_EQ(*catalog_.get_or_load(group, "", load), "2");
}

TEST(RecordingInvalidator, RecordsEachAppliedTouchedOnce) {
  cj::fakes::RecordingInvalidator rec;
  Touched t;
  t.featured = true;
  rec.apply(Written<int>{1, t});
  rec.apply(Written<int>{2, {}});  // nothing touched: not an invalidation
  ASSERT_EQ(rec.applied.size(), 1U);
  EXPECT_EQ(rec.applied[0], t);
}

// Written<T> hands its value out only through CatalogInvalidator::apply: a route cannot use a
// write's outcome without invalidating what it touched.
template <typename W>
concept ValueReadableWithoutApply = requires(W w) {
  w.value_;
};
static_assert(!ValueReadableWithoutApply<Written<int>>);
static_assert(!std::is_default_constructible_v<Written<int>>);

// What the type cannot stop: calling the cache's invalidate_* directly again somewhere in a
// service. Only the catalogue cache itself and the invalidator may.
TEST(CatalogInvalidation, NoServiceDropsCatalogueEntriesByHand) {
  const std::filesystem::path services = std::filesystem::path(CLOUDJET_SOURCE_DIR) / "src";
  std::vector<std::string> offenders;
  for (const auto& e : std::filesystem::recursive_directory_iterator(services)) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name.rfind("catalog_cache.", 0) == 0 || name.rfind("catalog_invalidator.", 0) == 0) {
      continue;
    }
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    for (const char* call : {"invalidate_search(", "invalidate_seats(", "invalidate_featured(",
                             "invalidate_airports("}) {
      if (text.str().find(call) != std::string::npos) {
        offenders.push_back(e.path().string() + ": " + call);
      }
    }
  }
  EXPECT_TRUE(offenders.empty()) << ::testing::PrintToString(offenders);
}

}  // namespace

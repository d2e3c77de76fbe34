// What a write changed in the flight catalogue, and the one step that drops the cached responses
// it made wrong once its transaction committed.
//
// Why a type rather than a rule: "every write that changes what a search returns invalidates it
// after commit" used to be nine calls to the cache spread over the routes, and a new write path
// could simply forget one. Now a catalogue-changing store write returns Written<T>: its outcome
// and what it touched, filled in by the store inside its transaction (it is the only code that
// knows which rows changed). The outcome can only be taken out through
// CatalogInvalidator::apply, so a route cannot use the result of a write without invalidating.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace cj::flight {

class CatalogCache;

struct RouteDate {
  std::string departure;  // airport codes
  std::string arrival;
  std::string date;  // YYYY-MM-DD (local date of departure)
  bool operator==(const RouteDate&) const = default;
};

// The cached responses a committed write made wrong.
struct Touched {
  std::vector<RouteDate> searches;   // search results of (route, date); featured follows any
  std::vector<long long> seat_maps;  // occupied seats of these schedule ids
  bool featured = false;             // featured/promotions, when no search entry above says so
  bool airports = false;             // the airports list

  [[nodiscard]] bool empty() const {
    return searches.empty() && seat_maps.empty() && !featured && !airports;
  }
  bool operator==(const Touched&) const = default;
};

// A committed write's outcome with what it touched. Only CatalogInvalidator::apply hands the
// outcome out (see the file comment).
template <typename T>
class [[nodiscard]] Written {
 public:
  Written(T value, Touched touched) : value_(std::move(value)), touched_(std::move(touched)) {}
  [[nodiscard]] const Touched& touched() const { return touched_; }

 private:
  friend class CatalogInvalidator;
  T value_;
  Touched touched_;
};

class CatalogInvalidator {
 public:
  virtual ~CatalogInvalidator() = default;
  // After the write committed: drops what it touched, then hands its outcome over.
  template <typename T>
  T apply(Written<T> written) {
    if (!written.touched_.empty()) invalidate(written.touched_);
    return std::move(written.value_);
  }

 protected:
  virtual void invalidate(const Touched& touched) = 0;
};

// The real one: the catalogue's response cache (search, featured, seats; shared via Redis when
// configured) and this process's reference cache (airports).
class CacheInvalidator final : public CatalogInvalidator {
 public:
  CacheInvalidator(CatalogCache& catalog, CatalogCache& reference)
      : catalog_(catalog), reference_(reference) {}

 protected:
  void invalidate(const Touched& touched) override;

 private:
  CatalogCache& catalog_;
  CatalogCache& reference_;
};

}  // namespace cj::flight

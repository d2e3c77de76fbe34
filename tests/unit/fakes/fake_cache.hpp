// An in-memory Cache (core/cache.hpp) that remembers every group it was told to invalidate, so a
// test can assert which cached responses a write dropped.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/cache.hpp"

namespace cj::fakes {

class FakeCache final : public Cache {
 public:
  struct Log {
    std::vector<std::string> invalidated;  // groups, in call order
    int hits = 0;
    int misses = 0;
  };
  explicit FakeCache(std::shared_ptr<Log> log) : log_(std::move(log)) {}

  Lookup get(const std::string& group, const std::string& key) override {
    std::lock_guard lock(mu_);
    Lookup out;
    out.version = std::to_string(versions_[group]);
    auto it = entries_.find(group + "|" + out.version + "|" + key);
    if (it == entries_.end()) {
      ++log_->misses;
    } else {
      ++log_->hits;
      out.value = it->second;
    }
    return out;
  }
  using Cache::put;
  void put(const std::string& group, const std::string& version, const std::string& key, Body value,
           int) override {
    std::lock_guard lock(mu_);
    entries_[group + "|" + version + "|" + key] = std::move(value);
  }
  void invalidate(const std::string& group) override {
    std::lock_guard lock(mu_);
    ++versions_[group];
    log_->invalidated.push_back(group);
  }
  [[nodiscard]] Stats stats() const override { return {}; }
  [[nodiscard]] bool in_process() const override { return true; }
  [[nodiscard]] const char* kind() const override { return "fake"; }

 private:
  std::shared_ptr<Log> log_;
  std::mutex mu_;
  std::map<std::string, long long> versions_;
  std::map<std::string, Body> entries_;
};

}  // namespace cj::fakes

#include "core/cache.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <list>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace cj {
namespace {

using Clock = std::chrono::steady_clock;

class MemoryCache final : public Cache {
 public:
  MemoryCache(std::size_t max_entries, std::size_t max_bytes)
      : max_entries_(std::max<std::size_t>(16, max_entries)), max_bytes_(max_bytes) {}

  Lookup get(const std::string& group, const std::string& key) override {
    const std::string k = full_key(group, key);  // built before taking the lock
    std::lock_guard lock(mu_);
    Lookup out;
    out.version = version_of(group);
    auto it = index_.find(k);
    if (it == index_.end()) return out;
    // An entry stored under an older version of its group is unreachable for good: drop it now
    // rather than let it hold memory until the LRU end reaches it.
    if (it->second->version != out.version || it->second->expires <= Clock::now()) {
      erase(it);
      return out;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    out.value = it->second->value;  // a reference count, not a copy of the body
    return out;
  }

  using Cache::put;
  void put(const std::string& group, const std::string& version, const std::string& key, Body value,
           int ttl_seconds) override {
    if (!value) return;
    std::string k = full_key(group, key);
    const std::size_t size = entry_bytes(k, version, *value);
    std::lock_guard lock(mu_);
    if (version != version_of(group)) return;  // invalidated meanwhile: do not store old data
    if (auto it = index_.find(k); it != index_.end()) erase(it);
    if (size > max_bytes_) return;
    const auto expires = Clock::now() + std::chrono::seconds(ttl_seconds);
    lru_.push_front(Node{k, version, std::move(value), expires, size});
    index_.emplace(std::move(k), lru_.begin());
    bytes_ += size;
    while (index_.size() > max_entries_ || bytes_ > max_bytes_) {
      erase(index_.find(lru_.back().key));
    }
  }

  void invalidate(const std::string& group) override {
    std::lock_guard lock(mu_);
    ++versions_[group];
    // Versions are tiny but unbounded in count; past a limit restart them all under a new epoch.
    if (versions_.size() > kMaxGroups) {
      versions_.clear();
      ++epoch_;
    }
  }

  [[nodiscard]] Stats stats() const override {
    std::lock_guard lock(mu_);
    return Stats{index_.size(), bytes_};
  }
  [[nodiscard]] bool in_process() const override { return true; }
  [[nodiscard]] const char* kind() const override { return "memory"; }

 private:
  static constexpr std::size_t kMaxGroups = 200000;
  struct Node {
    std::string key;
    std::string version;
    Body value;
    Clock::time_point expires;
    std::size_t bytes;
  };
  using Index = std::unordered_map<std::string, std::list<Node>::iterator>;

  // What an entry costs: its strings (the key twice: in the node and in the index) plus the list
  // node, the hash node and the allocator's headers, estimated generously.
  static std::size_t entry_bytes(const std::string& key, const std::string& version,
                                 const std::string& value) {
    constexpr std::size_t kOverhead = 192;
    return 2 * key.size() + version.size() + value.size() + kOverhead;
  }

  void erase(Index::iterator it) {
    bytes_ -= it->second->bytes;
    lru_.erase(it->second);
    index_.erase(it);
  }

  std::string version_of(const std::string& group) {
    auto it = versions_.find(group);
    return std::to_string(epoch_) + "." + std::to_string(it == versions_.end() ? 0 : it->second);
  }
  static std::string full_key(const std::string& group, const std::string& key) {
    return group + '\x1f' + key;
  }

  std::size_t max_entries_;
  std::size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<Node> lru_;
  Index index_;
  std::size_t bytes_ = 0;
  std::unordered_map<std::string, unsigned long long> versions_;
  unsigned long long epoch_ = 0;
};

// One round trip per lookup: the script reads the group's version and the entry stored under it.
constexpr const char* kLookupScript =
    "local v = redis.call('GET', KEYS[1]) or '0' "
    "return {v, redis.call('GET', ARGV[1] .. v .. ':' .. ARGV[2])}";

// The SHA-1 Redis names the script by (EVALSHA), as lower-case hex.
std::string script_sha1(std::string_view script) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

bool is_noscript(const redis::Reply& r) {
  return r.type == redis::Reply::Type::Error && r.str.rfind("NOSCRIPT", 0) == 0;
}

class RedisCache final : public Cache {
 public:
  explicit RedisCache(std::shared_ptr<redis::Client> client)
      : client_(std::move(client)), lookup_sha_(script_sha1(kLookupScript)) {}

  Lookup get(const std::string& group, const std::string& key) override {
    Lookup out;
    if (!flush_pending()) {
      out.available = false;
      return out;
    }
    auto r = lookup(group, key);
    if (!r || r->type != redis::Reply::Type::Array || r->elements.size() < 1) {
      out.available = false;
      return out;
    }
    out.version = r->elements[0].str;
    if (r->elements.size() > 1 && r->elements[1].type == redis::Reply::Type::String) {
      out.value = std::make_shared<const std::string>(std::move(r->elements[1].str));
    }
    return out;
  }

  using Cache::put;
  void put(const std::string& group, const std::string& version, const std::string& key, Body value,
           int ttl_seconds) override {
    if (!value) return;
    client_->command({"SET", data_prefix(group) + version + ":" + key, *value, "EX",
                      std::to_string(ttl_seconds)});
  }

  void invalidate(const std::string& group) override {
    if (!flush_pending() || !client_->command({"INCR", version_key(group)})) {
      std::lock_guard lock(mu_);
      pending_.insert(group);
    }
  }

  [[nodiscard]] Stats stats() const override { return {}; }
  [[nodiscard]] bool in_process() const override { return false; }
  [[nodiscard]] const char* kind() const override { return "redis"; }

 private:
  // An invalidation that could not reach Redis is kept and replayed before this process serves
  // anything from Redis again, so an outage cannot resurrect entries a write made stale.
  bool flush_pending() {
    std::unordered_set<std::string> groups;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) return true;
      groups.swap(pending_);
    }
    for (auto it = groups.begin(); it != groups.end();) {
      if (!client_->command({"INCR", version_key(*it)})) {
        std::lock_guard lock(mu_);
        pending_.insert(groups.begin(), groups.end());
        return false;
      }
      it = groups.erase(it);
    }
    return true;
  }

  // EVALSHA sends 40 bytes instead of the script and skips its compilation check. Redis forgets
  // scripts on a restart or SCRIPT FLUSH: then NOSCRIPT, and EVAL (which loads the script
  // again, so the next EVALSHA succeeds) answers this lookup.
  std::optional<redis::Reply> lookup(const std::string& group, const std::string& key) {
    auto r = client_->command(
        {"EVALSHA", lookup_sha_, "1", version_key(group), data_prefix(group), key});
    if (r && is_noscript(*r)) {
      r = client_->command(
          {"EVAL", kLookupScript, "1", version_key(group), data_prefix(group), key});
    }
    return r;
  }

  static std::string version_key(const std::string& group) { return "cloudjet:ver:" + group; }
  static std::string data_prefix(const std::string& group) { return "cloudjet:c:" + group + ":"; }
  std::shared_ptr<redis::Client> client_;
  const std::string lookup_sha_;
  std::mutex mu_;
  std::unordered_set<std::string> pending_;
};

}  // namespace

std::unique_ptr<Cache> make_memory_cache(std::size_t max_entries, std::size_t max_bytes) {
  return std::make_unique<MemoryCache>(max_entries, max_bytes);
}

std::unique_ptr<Cache> make_redis_cache(std::shared_ptr<redis::Client> client) {
  return std::make_unique<RedisCache>(std::move(client));
}

}  // namespace cj

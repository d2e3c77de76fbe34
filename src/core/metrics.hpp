// Prometheus metrics shared by every service (prometheus-cpp registry, text exposition served on
// each service port at /metrics, or only on METRICS_PORT when that is set; plus process_*).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cj::metrics {

// Per-route instruments, resolved once when routes are registered so the hot path does no label
// lookups beyond the status code.
class RouteMetrics {
 public:
  virtual ~RouteMetrics() = default;
  virtual void observe(int status, double seconds) = 0;
};

// Hit and miss counters of one cache, resolved once (a Family::Add per lookup hashes the labels
// and takes the family's lock on every cached read).
class CacheMetrics {
 public:
  virtual ~CacheMetrics() = default;
  virtual void count(bool hit) = 0;
};

// A labelled child of a counter or histogram family, resolved once by its user and kept (the
// registry owns it for the life of the process).
class Counter {
 public:
  virtual ~Counter() = default;
  virtual void increment(double by = 1) = 0;
};

class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void observe(double value) = 0;
};

// Bucket boundaries in seconds for things that take 0.1 ms to 5 s (database queries, Redis
// commands, worker-queue waits).
const std::vector<double>& fast_latency_buckets();

class Registry {
 public:
  static Registry& instance();
  virtual ~Registry() = default;
  virtual std::shared_ptr<RouteMetrics> route(const std::string& service, const std::string& method,
                                              const std::string& route) = 0;
  virtual void in_flight(int delta) = 0;
  // Reported at scrape time.
  virtual void set_pool_probe(std::function<int()> in_use, int size) = 0;
  virtual void count_cache(const std::string& cache, bool hit) = 0;
  // The counters count_cache(cache, ...) would increment, for callers that count per lookup.
  virtual std::shared_ptr<CacheMetrics> cache_metrics(const std::string& cache);
  // A gauge read at scrape time (queue depths, cache bytes, open connections). `read` must stay
  // callable until clear_probes(), which the owner of what it reads calls before destroying it.
  virtual void add_gauge_probe(const std::string& name, const std::string& help,
                               const std::map<std::string, std::string>& labels,
                               std::function<double()> read) = 0;
  virtual void clear_probes() = 0;
  // The same name and labels give the same child. Names and help must match across calls;
  // label values must come from code (op names, command words), never from users.
  virtual Counter& counter(const std::string& name, const std::string& help,
                           const std::map<std::string, std::string>& labels) = 0;
  virtual Histogram& histogram(const std::string& name, const std::string& help,
                               const std::map<std::string, std::string>& labels,
                               const std::vector<double>& buckets) = 0;
  // Summed over replicas it equals the bookings completed (each is completed by one process).
  virtual void count_bookings_completed(int n) = 0;
  // Likewise: HELD bookings released at their deadline, captured payments no booking claimed.
  virtual void count_holds_expired(int n) = 0;
  virtual void count_orphan_refunds(int n) = 0;
  // The refund outbox as the database holds it (all replicas), refreshed by the refund worker.
  virtual void set_refund_outbox(long long pending, long long failed,
                                 long long oldest_age_seconds) = 0;
  // Refunds this process had the gateway make, and those the gateway refused (now FAILED).
  virtual void count_refund_sent() = 0;
  virtual void count_refund_failed() = 0;
  virtual std::string render() = 0;
};

}  // namespace cj::metrics

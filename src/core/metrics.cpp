#include "core/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace cj::metrics {
namespace {

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};
  return b;
}

// The standard process_* metrics of the Prometheus client libraries (Linux: /proc/self), read at
// scrape time. A metric whose source cannot be read is left out rather than reported as 0.
prometheus::MetricFamily process_family(const std::string& name, const std::string& help,
                                        prometheus::MetricType type, double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return prometheus::MetricFamily{name, help, type, {m}};
}

// Seconds since the epoch at which the machine booted (`btime` of /proc/stat).
std::optional<double> boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double t = 0;
      if (in >> t) return t;
      return std::nullopt;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

void append_process_metrics(std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its
  // last ')'. Field 3 (state) is fields[0]; utime 14, stime 15, starttime 22, vsize 23, rss 24.
  const auto close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::istringstream rest(stat.substr(close + 1));
    std::vector<std::string> fields;
    for (std::string f; rest >> f;) fields.push_back(f);
    if (fields.size() > 21) {
      const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
      out.push_back(process_family("process_cpu_seconds_total",
                                   "Total user and system CPU time spent in seconds",
                                   MetricType::Counter, cpu));
      out.push_back(process_family("process_virtual_memory_bytes", "Virtual memory size in bytes",
                                   MetricType::Gauge, std::stod(fields[20])));
      out.push_back(process_family("process_resident_memory_bytes", "Resident memory size in bytes",
                                   MetricType::Gauge, std::stod(fields[21]) * page));
      // Read once: a clock step would otherwise move btime, and a changed start time reads as a
      // restart (CloudJetRestarting).
      static const std::optional<double> boot = boot_time();
      if (boot) {
        out.push_back(process_family("process_start_time_seconds",
                                     "Start time of the process since unix epoch in seconds",
                                     MetricType::Gauge, *boot + std::stod(fields[19]) / ticks));
      }
    }
  }
  std::error_code ec;
  double fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  if (!ec) {
    // Less the descriptor the listing itself held open.
    out.push_back(process_family("process_open_fds", "Number of open file descriptors",
                                 MetricType::Gauge, fds > 0 ? fds - 1 : 0));
  }
  // The soft limit, as the "Max open files" line of /proc/self/limits shows it.
  if (rlimit lim{}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    out.push_back(process_family("process_max_fds", "Maximum number of open file descriptors",
                                 MetricType::Gauge, static_cast<double>(lim.rlim_cur)));
  }
}

class PromRouteMetrics final : public RouteMetrics {
 public:
  PromRouteMetrics(prometheus::Family<prometheus::Counter>& requests,
                   prometheus::Histogram& latency, std::map<std::string, std::string> labels)
      : requests_(requests), latency_(latency), labels_(std::move(labels)) {}

  void observe(int status, double seconds) override {
    latency_.Observe(seconds);
    counter_for(status).Increment();
  }

 private:
  prometheus::Counter& counter_for(int status) {
    std::lock_guard lock(mu_);
    auto it = by_status_.find(status);
    if (it != by_status_.end()) return *it->second;
    auto labels = labels_;
    labels["status"] = std::to_string(status);
    auto& c = requests_.Add(labels);
    by_status_[status] = &c;
    return c;
  }

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Histogram& latency_;
  std::map<std::string, std::string> labels_;
  std::mutex mu_;
  std::map<int, prometheus::Counter*> by_status_;
};

class PromRegistry final : public Registry {
 public:
  PromRegistry()
      : registry_(std::make_shared<prometheus::Registry>()),
        requests_(prometheus::BuildCounter()
                      .Name("cloudjet_http_requests_total")
                      .Help("HTTP requests by service, route template, method and status")
                      .Register(*registry_)),
        latency_(prometheus::BuildHistogram()
                     .Name("cloudjet_http_request_duration_seconds")
                     .Help("HTTP request latency by service and route template")
                     .Register(*registry_)),
        in_flight_(prometheus::BuildGauge()
                       .Name("cloudjet_http_requests_in_flight")
                       .Help("HTTP requests being handled")
                       .Register(*registry_)
                       .Add({})),
        pool_in_use_(prometheus::BuildGauge()
                         .Name("cloudjet_db_pool_in_use")
                         .Help("Database connections leased from the pool")
                         .Register(*registry_)
                         .Add({})),
        pool_size_(prometheus::BuildGauge()
                       .Name("cloudjet_db_pool_size")
                       .Help("Database connections in the pool")
                       .Register(*registry_)
                       .Add({})),
        cache_(prometheus::BuildCounter()
                   .Name("cloudjet_cache_lookups_total")
                   .Help("Cache lookups by cache and result")
                   .Register(*registry_)),
        bookings_completed_(prometheus::BuildCounter()
                                .Name("cloudjet_bookings_completed_total")
                                .Help("CONFIRMED bookings of departed flights this process marked "
                                      "COMPLETED")
                                .Register(*registry_)
                                .Add({})),
        holds_expired_(prometheus::BuildCounter()
                           .Name("cloudjet_booking_holds_expired_total")
                           .Help("HELD bookings this process released at their pay-by deadline")
                           .Register(*registry_)
                           .Add({})),
        orphan_refunds_(prometheus::BuildCounter()
                            .Name("cloudjet_orphan_payment_refunds_total")
                            .Help("Captured payments attached to no booking that this process "
                                  "queued for refund")
                            .Register(*registry_)
                            .Add({})),
        refund_pending_(prometheus::BuildGauge()
                            .Name("cloudjet_refund_outbox_pending")
                            .Help("Refunds queued and not yet sent (PENDING or SENDING), all "
                                  "replicas")
                            .Register(*registry_)
                            .Add({})),
        refund_failed_(prometheus::BuildGauge()
                           .Name("cloudjet_refund_outbox_failed")
                           .Help("Refunds the gateway refused (FAILED, never retried), all "
                                 "replicas; alert when above 0")
                           .Register(*registry_)
                           .Add({})),
        refund_oldest_age_(prometheus::BuildGauge()
                               .Name("cloudjet_refund_outbox_oldest_age_seconds")
                               .Help("Age of the oldest refund not yet sent (0 when none)")
                               .Register(*registry_)
                               .Add({})),
        refunds_sent_(prometheus::BuildCounter()
                          .Name("cloudjet_refunds_sent_total")
                          .Help("Refunds this process had the payment gateway make")
                          .Register(*registry_)
                          .Add({})),
        refunds_failed_(prometheus::BuildCounter()
                            .Name("cloudjet_refunds_failed_total")
                            .Help("Refunds the payment gateway refused to this process (FAILED)")
                            .Register(*registry_)
                            .Add({})) {}

  std::shared_ptr<RouteMetrics> route(const std::string& service, const std::string& method,
                                      const std::string& route) override {
    std::map<std::string, std::string> labels{
        {"service", service}, {"route", route}, {"method", method}};
    std::lock_guard lock(mu_);
    auto& hist = latency_.Add({{"service", service}, {"route", route}, {"method", method}},
                              latency_buckets());
    return std::make_shared<PromRouteMetrics>(requests_, hist, labels);
  }

  void in_flight(int delta) override { in_flight_.Increment(delta); }

  void set_pool_probe(std::function<int()> in_use, int size) override {
    std::lock_guard lock(mu_);
    pool_probe_ = std::move(in_use);
    pool_size_.Set(size);
  }

  void count_cache(const std::string& cache, bool hit) override {
    cache_.Add({{"cache", cache}, {"result", hit ? "hit" : "miss"}}).Increment();
  }

  std::shared_ptr<CacheMetrics> cache_metrics(const std::string& cache) override {
    // Children live as long as the family (the registry, i.e. the process): plain references.
    class Resolved final : public CacheMetrics {
     public:
      Resolved(prometheus::Counter& hit, prometheus::Counter& miss) : hit_(hit), miss_(miss) {}
      void count(bool hit) override { (hit ? hit_ : miss_).Increment(); }

     private:
      prometheus::Counter& hit_;
      prometheus::Counter& miss_;
    };
    return std::make_shared<Resolved>(cache_.Add({{"cache", cache}, {"result", "hit"}}),
                                      cache_.Add({{"cache", cache}, {"result", "miss"}}));
  }

  void add_gauge_probe(const std::string& name, const std::string& help,
                       const std::map<std::string, std::string>& labels,
                       std::function<double()> read) override {
    std::lock_guard lock(mu_);
    auto it = gauge_families_.find(name);
    if (it == gauge_families_.end()) {
      auto& family = prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
      it = gauge_families_.emplace(name, &family).first;
    }
    probes_.push_back({&it->second->Add(labels), std::move(read)});
  }

  void clear_probes() override {
    std::lock_guard lock(mu_);
    probes_.clear();
  }
  Counter& counter(const std::string& name, const std::string& help,
                   const std::map<std::string, std::string>& labels) override {
    std::lock_guard lock(mu_);
    auto& slot = counters_[key_of(name, labels)];
    if (!slot) {
      auto it = counter_families_.find(name);
      if (it == counter_families_.end()) {
        auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
        it = counter_families_.emplace(name, &family).first;
      }
      slot = std::make_unique<PromCounter>(it->second->Add(labels));
    }
    return *slot;
  }

  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::map<std::string, std::string>& labels,
                       const std::vector<double>& buckets) override {
    std::lock_guard lock(mu_);
    auto& slot = histograms_[key_of(name, labels)];
    if (!slot) {
      auto it = histogram_families_.find(name);
      if (it == histogram_families_.end()) {
        auto& family = prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
        it = histogram_families_.emplace(name, &family).first;
      }
      slot = std::make_unique<PromHistogram>(it->second->Add(labels, buckets));
    }
    return *slot;
  }

  void count_bookings_completed(int n) override { bookings_completed_.Increment(n); }
  void count_holds_expired(int n) override { holds_expired_.Increment(n); }
  void count_orphan_refunds(int n) override { orphan_refunds_.Increment(n); }
  void set_refund_outbox(long long pending, long long failed,
                         long long oldest_age_seconds) override {
    refund_pending_.Set(static_cast<double>(pending));
    refund_failed_.Set(static_cast<double>(failed));
    refund_oldest_age_.Set(static_cast<double>(oldest_age_seconds));
  }
  void count_refund_sent() override { refunds_sent_.Increment(); }
  void count_refund_failed() override { refunds_failed_.Increment(); }

  std::string render() override {
    {
      std::lock_guard lock(mu_);
      if (pool_probe_) pool_in_use_.Set(pool_probe_());
      for (auto& p : probes_) p.gauge->Set(p.read());
    }
    auto families = registry_->Collect();
    append_process_metrics(families);
    return prometheus::TextSerializer().Serialize(families);
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& pool_in_use_;
  prometheus::Gauge& pool_size_;
  prometheus::Family<prometheus::Counter>& cache_;
  prometheus::Counter& bookings_completed_;
  prometheus::Counter& holds_expired_;
  prometheus::Counter& orphan_refunds_;
  prometheus::Gauge& refund_pending_;
  prometheus::Gauge& refund_failed_;
  prometheus::Gauge& refund_oldest_age_;
  prometheus::Counter& refunds_sent_;
  prometheus::Counter& refunds_failed_;
  std::mutex mu_;
  std::function<int()> pool_probe_;
  struct Probe {
    prometheus::Gauge* gauge;
    std::function<double()> read;
  };
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauge_families_;
  std::vector<Probe> probes_;

  class PromCounter final : public Counter {
   public:
    explicit PromCounter(prometheus::Counter& c) : c_(c) {}
    void increment(double by) override { c_.Increment(by); }

   private:
    prometheus::Counter& c_;
  };
  class PromHistogram final : public Histogram {
   public:
    explicit PromHistogram(prometheus::Histogram& h) : h_(h) {}
    void observe(double value) override { h_.Observe(value); }

   private:
    prometheus::Histogram& h_;
  };
  static std::string key_of(const std::string& name,
                            const std::map<std::string, std::string>& labels) {
    std::string key = name;
    for (const auto& [k, v] : labels) {
      key += '\0';
      key += k;
      key += '=';
      key += v;
    }
    return key;
  }
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counter_families_;
  std::map<std::string, prometheus::Family<prometheus::Histogram>*> histogram_families_;
  std::map<std::string, std::unique_ptr<Counter>> counters_;
  std::map<std::string, std::unique_ptr<Histogram>> histograms_;
};

}  // namespace

// For registries (fakes) that only implement count_cache.
std::shared_ptr<CacheMetrics> Registry::cache_metrics(const std::string& cache) {
  class ByName final : public CacheMetrics {
   public:
    ByName(Registry& registry, std::string cache) : registry_(registry), cache_(std::move(cache)) {}
    void count(bool hit) override { registry_.count_cache(cache_, hit); }

   private:
    Registry& registry_;
    std::string cache_;
  };
  return std::make_shared<ByName>(*this, cache);
}

const std::vector<double>& fast_latency_buckets() {
  static const std::vector<double> b{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                     0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
  return b;
}

Registry& Registry::instance() {
  static PromRegistry registry;
  return registry;
}

}  // namespace cj::metrics

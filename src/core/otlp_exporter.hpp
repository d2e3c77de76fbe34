// OTLP/HTTP trace export with the JSON encoding, over libcurl. No C++ OpenTelemetry SDK is
// packaged for Debian 12, and what is needed here is small: a batch span processor (bounded queue,
// its own thread, batches by size or delay) and the JSON shape of ExportTraceServiceRequest.
//
// Spans are only ever queued on the request path (a lock and a push); a full queue drops the span
// and counts it (cloudjet_trace_spans_dropped_total). A receiver that is slow, down or refusing
// costs the export thread its time and nothing else.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/trace.hpp"

namespace cj::metrics {
class Counter;
}

namespace cj::trace {

// The ExportTraceServiceRequest JSON for `spans`: one resourceSpans per service.name (
// `service_name` when set, else "cloudjet-<span.service>", "cloudjet" for spans of no service),
// one scopeSpans (scope "cloudjet") each; ids as hex, times as decimal strings.
std::string encode_otlp_json(const std::vector<SpanData>& spans, const std::string& service_name);

class OtlpExporter final : public SpanSink {
 public:
  // Sends one encoded batch; true when the receiver took it (2xx).
  using Post = std::function<bool(const std::string& body)>;

  struct Options {
    TraceConfig config;
    // Tests: no thread; export_batch() is called by hand.
    bool start_thread = true;
  };

  // `post` nullptr: HTTP POST to config.endpoint.
  explicit OtlpExporter(Options options, Post post = nullptr);
  ~OtlpExporter() override;  // shutdown()
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  void submit(SpanData&& span) override;

  // Takes up to one batch from the queue and sends it; returns the spans sent (0 on failure or
  // when the queue was empty).
  std::size_t export_batch();
  // Stops the thread after it sent what is queued, for at most `max_wait` in all (a receiver
  // that does not answer must not hold up the process's exit). Idempotent.
  void shutdown(std::chrono::milliseconds max_wait = std::chrono::milliseconds(5000));

  [[nodiscard]] std::size_t queued() const;
  [[nodiscard]] unsigned long long dropped() const;
  [[nodiscard]] unsigned long long exported() const;
  [[nodiscard]] unsigned long long failures() const;

 private:
  void loop();
  bool http_post(const std::string& body, long timeout_ms) const;

  Options options_;
  Post post_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SpanData> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_{};
  // stop_deadline_ in steady-clock nanoseconds for the POST's progress callback; 0 until
  // shutdown. Mutable: the callback reads it through a const http_post.
  mutable std::atomic<long long> abort_at_ns_{0};
  unsigned long long dropped_ = 0;
  unsigned long long exported_ = 0;
  unsigned long long failures_ = 0;
  bool failing_ = false;  // the last batch failed (for one log line per outage)
  metrics::Counter& dropped_metric_;
  metrics::Counter& exported_metric_;
  metrics::Counter& failures_metric_;
  std::mutex send_mu_;  // one batch in flight at a time (the thread, or a test's call)
  std::thread thread_;  // last: it starts in the constructor
};

}  // namespace cj::trace

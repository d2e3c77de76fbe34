#include "core/otlp_exporter.hpp"

#include <curl/curl.h>

#include <atomic>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace cj::trace {
namespace {

using Clock = std::chrono::steady_clock;

nlohmann::json attribute(const std::string& key, const AttributeValue& value) {
  nlohmann::json v = nlohmann::json::object();
  if (const auto* s = std::get_if<std::string>(&value)) {
    v["stringValue"] = *s;
  } else {
    // int64 is a decimal string in the protobuf JSON mapping OTLP/JSON follows.
    v["intValue"] = std::to_string(std::get<std::int64_t>(value));
  }
  return {{"key", key}, {"value", std::move(v)}};
}

nlohmann::json span_json(const SpanData& s) {
  nlohmann::json j = {
      {"traceId", s.trace_id},
      {"spanId", s.span_id},
      {"name", s.name},
      {"kind", static_cast<int>(s.kind)},
      {"startTimeUnixNano", std::to_string(s.start_unix_nanos)},
      {"endTimeUnixNano", std::to_string(s.end_unix_nanos)},
  };
  if (!s.parent_span_id.empty()) j["parentSpanId"] = s.parent_span_id;
  if (!s.tracestate.empty()) j["traceState"] = s.tracestate;
  nlohmann::json attrs = nlohmann::json::array();
  for (const auto& [k, v] : s.attributes) attrs.push_back(attribute(k, v));
  j["attributes"] = std::move(attrs);
  // STATUS_CODE_ERROR = 2; an unset status (0) for everything else, as the semantic conventions
  // ask of instrumentation (OK is for the application to say).
  nlohmann::json status = {{"code", s.error ? 2 : 0}};
  if (s.error && !s.status_message.empty()) status["message"] = s.status_message;
  j["status"] = std::move(status);
  return j;
}

std::size_t discard(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

// Aborts a POST still running past the shutdown deadline (a stalled receiver).
int abort_after_deadline(void* deadline_ns, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto limit = static_cast<std::atomic<long long>*>(deadline_ns)->load();
  if (limit == 0) return 0;
  const long long now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  return now > limit ? 1 : 0;
}

}  // namespace

std::string encode_otlp_json(const std::vector<SpanData>& spans, const std::string& service_name) {
  // Ordered by service name, so the output is stable (tests, diffs of captured payloads).
  std::map<std::string, nlohmann::json> by_service;
  for (const auto& s : spans) {
    std::string name = service_name;
    if (name.empty()) name = s.service.empty() ? "cloudjet" : "cloudjet-" + s.service;
    auto [it, fresh] = by_service.try_emplace(name, nlohmann::json::array());
    it->second.push_back(span_json(s));
  }
  nlohmann::json resource_spans = nlohmann::json::array();
  for (auto& [name, list] : by_service) {
    resource_spans.push_back(
        {{"resource",
          {{"attributes",
            nlohmann::json::array({attribute("service.name", name),
                                   attribute("telemetry.sdk.name", std::string("cloudjet")),
                                   attribute("telemetry.sdk.language", std::string("cpp"))})}}},
         {"scopeSpans",
          nlohmann::json::array({{{"scope", {{"name", "cloudjet"}, {"version", CLOUDJET_VERSION}}},
                                  {"spans", std::move(list)}}})}});
  }
  nlohmann::json body = {{"resourceSpans", std::move(resource_spans)}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

OtlpExporter::OtlpExporter(Options options, Post post)
    : options_(std::move(options)),
      post_(std::move(post)),
      dropped_metric_(metrics::Registry::instance().counter(
          "cloudjet_trace_spans_dropped_total",
          "Spans not exported: the export queue was full, or their batch failed", {})),
      exported_metric_(metrics::Registry::instance().counter(
          "cloudjet_trace_spans_exported_total", "Spans the OTLP receiver accepted", {})),
      failures_metric_(metrics::Registry::instance().counter(
          "cloudjet_trace_export_failures_total",
          "OTLP export requests that failed (unreachable, timed out or not 2xx)", {})) {
  options_.config.max_queue = std::max(1, options_.config.max_queue);
  options_.config.max_batch = std::max(1, options_.config.max_batch);
  if (options_.start_thread) thread_ = std::thread([this] { loop(); });
}

OtlpExporter::~OtlpExporter() {
  unset_sink(this);
  shutdown();
}

void OtlpExporter::submit(SpanData&& span) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= static_cast<std::size_t>(options_.config.max_queue)) {
      ++dropped_;
      dropped_metric_.increment();
      return;
    }
    queue_.push_back(std::move(span));
    wake = queue_.size() >= static_cast<std::size_t>(options_.config.max_batch);
  }
  if (wake) cv_.notify_one();
}

std::size_t OtlpExporter::export_batch() {
  std::lock_guard send_lock(send_mu_);
  std::vector<SpanData> batch;
  long timeout_ms = options_.config.export_timeout_ms;
  {
    std::lock_guard lock(mu_);
    const std::size_t n =
        std::min(queue_.size(), static_cast<std::size_t>(options_.config.max_batch));
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (stopping_) {
      // While shutting down, no POST may outlast the flush deadline.
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(stop_deadline_ - Clock::now());
      timeout_ms = std::max<long>(1, std::min<long>(timeout_ms, left.count()));
    }
  }
  if (batch.empty()) return 0;
  const std::string body = encode_otlp_json(batch, options_.config.service_name);
  bool ok = false;
  try {
    ok = post_ ? post_(body) : http_post(body, timeout_ms);
  } catch (const std::exception&) {
    ok = false;
  }
  bool was_failing = false;
  {
    std::lock_guard lock(mu_);
    was_failing = failing_;
    failing_ = !ok;
    if (ok) {
      exported_ += batch.size();
      exported_metric_.increment(static_cast<double>(batch.size()));
    } else {
      ++failures_;
      failures_metric_.increment();
      dropped_ += batch.size();
      dropped_metric_.increment(static_cast<double>(batch.size()));
    }
  }
  // One line when the receiver goes away and one when it is back: the counters tell the rest,
  // and a line per failed batch would flood the log under load.
  if (!ok && !was_failing) {
    log::warn("trace export failing; spans are dropped until the receiver answers",
              {{"spans", batch.size()}, {"endpoint", options_.config.endpoint}});
  } else if (ok && was_failing) {
    log::info("trace export recovered", {{"endpoint", options_.config.endpoint}});
  }
  return ok ? batch.size() : 0;
}

void OtlpExporter::loop() {
  const auto delay = std::chrono::milliseconds(options_.config.schedule_delay_ms);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, delay, [this] {
      return stopping_ || queue_.size() >= static_cast<std::size_t>(options_.config.max_batch);
    });
    if (stopping_ && (queue_.empty() || Clock::now() >= stop_deadline_)) return;
    if (queue_.empty()) continue;
    lock.unlock();
    const bool sent = export_batch() > 0;
    lock.lock();
    // A failed batch waits out a schedule delay before the next try (unless stopping), so a
    // receiver that refuses at once is not hammered with back-to-back POSTs.
    if (!sent && !stopping_) {
      cv_.wait_for(lock, delay, [this] { return stopping_; });
    }
  }
}

void OtlpExporter::shutdown(std::chrono::milliseconds max_wait) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    stop_deadline_ = Clock::now() + max_wait;
    abort_at_ns_ =
        std::chrono::duration_cast<std::chrono::nanoseconds>(stop_deadline_.time_since_epoch())
            .count();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  if (!queue_.empty()) {
    dropped_ += queue_.size();
    dropped_metric_.increment(static_cast<double>(queue_.size()));
    queue_.clear();
  }
}

std::size_t OtlpExporter::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

unsigned long long OtlpExporter::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

unsigned long long OtlpExporter::exported() const {
  std::lock_guard lock(mu_);
  return exported_;
}

unsigned long long OtlpExporter::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

bool OtlpExporter::http_post(const std::string& body, long timeout_ms) const {
  // Not net::send: that one makes a CLIENT span of its own, and exporting spans must never
  // make more spans.
  struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return false;
  std::unique_ptr<curl_slist, SlistDeleter> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, options_.config.endpoint.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 2000L));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_after_deadline);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &abort_at_ns_);
  if (curl_easy_perform(c) != CURLE_OK) return false;
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return status >= 200 && status < 300;
}

}  // namespace cj::trace
